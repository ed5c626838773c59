import type { NextConfig } from 'next';
import { PHASE_DEVELOPMENT_SERVER } from 'next/constants';

// The viewer is a static export: the cryptoviz binary serves `out/` at `/` on the same origin
// as the API, so every fetch is a relative `/api/v1/...` URL and no CORS is involved.
// `next dev` has no API of its own: it proxies `/api`, `/health` and `/metrics` to a running
// binary (CRYPTOVIZ_API, default http://127.0.0.1:8080). Rewrites cannot exist in an export.
export default function config(phase: string): NextConfig {
  const base: NextConfig = {
    output: 'export',
    trailingSlash: true,
    images: { unoptimized: true },
    reactStrictMode: true,
  };
  if (phase !== PHASE_DEVELOPMENT_SERVER) {
    return base;
  }
  const api = process.env.CRYPTOVIZ_API ?? 'http://127.0.0.1:8080';
  return {
    ...base,
    output: undefined,
    async rewrites() {
      return [
        { source: '/api/:path*', destination: `${api}/api/:path*` },
        { source: '/health', destination: `${api}/health` },
      ];
    },
  };
}
