import { defineConfig } from 'vitest/config';

// Unit tests cover the pure modules under lib/ only: no DOM, no network.
export default defineConfig({
  test: {
    include: ['tests/**/*.test.ts'],
    environment: 'node',
  },
});
