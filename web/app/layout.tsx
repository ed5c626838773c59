import type { Metadata, Viewport } from 'next';
import type { ReactNode } from 'react';
import './globals.css';
import { LiveProvider } from '../components/LiveProvider';
import { Nav } from '../components/Nav';
import { Notifications } from '../components/Notifications';
import { StaleBanner } from '../components/StaleBanner';
import { THEME_SCRIPT } from '../components/ThemeToggle';

export const metadata: Metadata = {
  // Each page renders its own <title> (React hoists it into <head>).
  description: 'Real-time crypto market analytics',
};

export const viewport: Viewport = {
  width: 'device-width',
  initialScale: 1,
};

export default function RootLayout({ children }: { children: ReactNode }) {
  return (
    <html lang="en" data-theme="dark" suppressHydrationWarning>
      <head>
        <script dangerouslySetInnerHTML={{ __html: THEME_SCRIPT }} />
      </head>
      <body>
        <LiveProvider>
          <Nav />
          <StaleBanner />
          <main id="main" tabIndex={-1}>
            {children}
          </main>
          <Notifications />
        </LiveProvider>
      </body>
    </html>
  );
}
