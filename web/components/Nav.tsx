'use client';

import Link from 'next/link';
import { usePathname } from 'next/navigation';
import { ConnectionIndicator } from './ConnectionIndicator';
import { ThemeToggle } from './ThemeToggle';

const LINKS = [
  { href: '/', label: 'Market' },
  { href: '/news/', label: 'News' },
  { href: '/sentiment/', label: 'Sentiment' },
  { href: '/anomalies/', label: 'Anomalies' },
  { href: '/alerts/', label: 'Alerts' },
  { href: '/status/', label: 'Status' },
];

function active(pathname: string, href: string): boolean {
  const p = pathname.endsWith('/') ? pathname : `${pathname}/`;
  if (href === '/') return p === '/' || p.startsWith('/coin/');
  return p.startsWith(href);
}

export function Nav() {
  const pathname = usePathname() ?? '/';
  return (
    <header className="topbar">
      <a className="skip-link" href="#main">
        Skip to content
      </a>
      <Link href="/" className="brand" aria-label="CryptoViz home">
        CryptoViz
      </Link>
      <nav aria-label="Main">
        <ul className="nav-links">
          {LINKS.map((l) => (
            <li key={l.href}>
              <Link
                href={l.href}
                aria-current={active(pathname, l.href) ? 'page' : undefined}
                data-testid={`nav-${l.label.toLowerCase()}`}
              >
                {l.label}
              </Link>
            </li>
          ))}
        </ul>
      </nav>
      <div className="topbar-right">
        <ConnectionIndicator />
        <ThemeToggle />
      </div>
    </header>
  );
}
