// End-to-end tests of the viewer against the real cryptoviz binary on a simulated market,
// in Debian's Chromium driven by playwright-core (never a downloaded browser).
//
// Env: CRYPTOVIZ_BIN (binary), WEB_DIR (the built export, absolute), RESULTS_DIR (screenshots
// and logs), CHROMIUM (default /usr/bin/chromium), DATA_DIR (a fresh temporary directory),
// PID_FILE (the running server's PID, for the calling script's clean-up).
// Prints one line per check and a closing `N passed, N failed`; exits 1 on any failure.

import { chromium } from 'playwright-core';
import { mkdirSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { Server, freePort, sleep } from './server.mjs';

const env = (k, d) => process.env[k] ?? d;
const bin = resolve(env('CRYPTOVIZ_BIN', '../target/release/cryptoviz'));
const webDir = resolve(env('WEB_DIR', 'out'));
const results = resolve(env('RESULTS_DIR', 'test-results'));
const dataDir = env('DATA_DIR');
const pidFile = env('PID_FILE', join(results, 'server.pid'));
if (!dataDir) throw new Error('DATA_DIR must name a fresh directory');
mkdirSync(results, { recursive: true });

const API_KEY = 'test-key';
const port = Number(env('PORT', '0')) || (await freePort());
const server = new Server({ bin, port, dataDir, webDir, apiKey: API_KEY, logFile: join(results, 'cryptoviz.log'), pidFile });
const base = server.base;

let passed = 0;
let failed = 0;
const failures = [];
async function check(name, fn) {
  const t0 = Date.now();
  try {
    await fn();
    passed += 1;
    console.log(`ok - ${name} (${Date.now() - t0} ms)`);
  } catch (e) {
    failed += 1;
    const msg = e instanceof Error ? e.message.split('\n')[0] : String(e);
    failures.push(`${name}: ${msg}`);
    console.log(`not ok - ${name}: ${msg}`);
  }
}
function assert(cond, msg) {
  if (!cond) throw new Error(msg);
}

// Console errors, except while the server is deliberately down (refused connections then are
// the point of the test).
const consoleErrors = [];
let outage = false;
function watch(page) {
  page.on('console', (m) => {
    if (m.type() === 'error' && !outage) consoleErrors.push(`${page.url()}: ${m.text()}`);
  });
  page.on('pageerror', (e) => {
    if (!outage) consoleErrors.push(`${page.url()}: uncaught ${e.message}`);
  });
}

async function shot(page, name) {
  await page.screenshot({ path: join(results, `${name}.png`), fullPage: true });
}

const tid = (id) => `[data-testid="${id}"]`;

let browser;
try {
  await server.start();
  browser = await chromium.launch({
    executablePath: env('CHROMIUM', '/usr/bin/chromium'),
    headless: true,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--no-first-run'],
  });
  const context = await browser.newContext({ viewport: { width: 1360, height: 900 }, colorScheme: 'dark' });
  const page = await context.newPage();
  watch(page);

  await check('the binary serves the viewer at /', async () => {
    const r = await fetch(`${base}/`);
    assert(r.ok, `GET / answered ${r.status}`);
    const html = await r.text();
    assert(html.includes('CryptoViz'), 'GET / is not the viewer (api.web_dir not served?)');
  });

  await check('overview shows 20 coins and a price changes on screen within 2 s', async () => {
    await page.goto(`${base}/`);
    await page.waitForFunction(() => document.querySelectorAll('[data-testid="coin-row"]').length === 20, null, { timeout: 20_000 });
    await page.waitForSelector(`${tid('connection-status')}[data-state="open"]`, { timeout: 10_000 });
    const before = await page.$$eval(tid('coin-price'), (els) => els.map((e) => e.textContent));
    const t0 = Date.now();
    await page.waitForFunction(
      (b) => [...document.querySelectorAll('[data-testid="coin-price"]')].some((e, i) => e.textContent !== b[i]),
      before,
      { timeout: 2000, polling: 50 },
    );
    console.log(`  a price changed after ${Date.now() - t0} ms`);
    await shot(page, 'overview');
  });

  await check('overview sorts and filters', async () => {
    await page.fill(tid('coin-filter'), 'bitcoin');
    await page.waitForFunction(() => document.querySelectorAll('[data-testid="coin-row"]').length >= 1 && document.querySelectorAll('[data-testid="coin-row"]').length < 20, null, { timeout: 3000 });
    await page.fill(tid('coin-filter'), '');
    await page.click(tid('sort-price_usd'));
    const prices = await page.$$eval('[data-testid="coin-row"]', (rows) => rows.map((r) => r.getAttribute('data-coin')));
    assert(prices.length === 20, `expected 20 rows after clearing the filter, got ${prices.length}`);
    const sortAttr = await page.getAttribute('th:has([data-testid="sort-price_usd"])', 'aria-sort');
    assert(sortAttr === 'descending', `price column aria-sort is ${sortAttr}`);
  });

  await check('opening a coin draws the candlestick chart', async () => {
    await page.click(tid('coin-link-bitcoin'));
    await page.waitForURL(/\/coin\/\?id=bitcoin/, { timeout: 10_000 });
    await page.waitForFunction(() => Number(document.querySelector('[data-testid="candle-chart"]')?.getAttribute('data-bars') ?? 0) > 0, null, { timeout: 20_000 });
    const painted = await page.$$eval(`${tid('candle-chart')} canvas`, (canvases) =>
      canvases.map((c) => {
        const ctx = c.getContext('2d');
        if (!ctx || !c.width || !c.height) return 0;
        const d = ctx.getImageData(0, 0, c.width, c.height).data;
        const colours = new Set();
        for (let i = 0; i < d.length; i += 4 * 7) colours.add((d[i] << 16) | (d[i + 1] << 8) | d[i + 2]);
        return colours.size;
      }),
    );
    assert(painted.length > 0, 'no canvas in the chart');
    assert(Math.max(...painted) > 3, `the chart canvases look empty (colours per canvas: ${painted})`);
    await shot(page, 'coin');
  });

  await check('switching the range re-renders with the new span', async () => {
    const read = () =>
      page.$eval(tid('candle-chart'), (e) => ({
        bars: Number(e.getAttribute('data-bars')),
        from: Number(e.getAttribute('data-from')),
        to: Number(e.getAttribute('data-to')),
        interval: Number(e.getAttribute('data-interval')),
      }));
    // Wait for more than a market hour of candles (a wall minute at speed 60), so that the
    // 1h range must be visibly shorter than the 24h one.
    const deadline = Date.now() + 150_000;
    for (;;) {
      const h = await server.json('/api/v1/coins/bitcoin/history?range=24h&interval=5m');
      const c = h?.candles ?? [];
      if (c.length > 1 && Date.parse(c[c.length - 1].time) - Date.parse(c[0].time) > 3_900_000) break;
      assert(Date.now() < deadline, `bitcoin has ${c.length} 5-minute candles after 150 s`);
      await sleep(2000);
    }
    await page.reload();
    await page.waitForFunction(() => Number(document.querySelector('[data-testid="candle-chart"]')?.getAttribute('data-bars') ?? 0) > 0, null, { timeout: 20_000 });
    await page.click(tid('range-24h'));
    await page.waitForURL(/range=24h/);
    await page.waitForFunction(() => document.querySelector('[data-testid="candle-chart"]')?.getAttribute('data-interval') === '300', null, { timeout: 15_000 });
    const day = await read();
    await page.click(tid('range-1h'));
    await page.waitForURL(/range=1h/);
    await page.waitForFunction(() => document.querySelector('[data-testid="candle-chart"]')?.getAttribute('data-interval') === '60', null, { timeout: 15_000 });
    const hour = await read();
    console.log(`  24h: ${JSON.stringify(day)}; 1h: ${JSON.stringify(hour)}`);
    assert(hour.to - hour.from <= 3600, `the 1h range spans ${hour.to - hour.from} s`);
    assert(day.interval === 300 && hour.interval === 60, 'auto interval did not follow the range');
    assert(day.to - day.from > 3600, `the 24h range spans only ${day.to - day.from} s`);
    assert(hour.from > day.from, 'the 1h range starts no later than the 24h one');
    assert(hour.bars > 0 && day.bars > 0, 'a range drew no candles');
    await shot(page, 'coin-1h');
  });

  await check('an injected anomaly appears as a marker on the chart', async () => {
    let anomaly = null;
    const deadline = Date.now() + 180_000;
    while (!anomaly && Date.now() < deadline) {
      const r = await server.json('/api/v1/anomalies?limit=50');
      anomaly = r?.data?.find((a) => a.kind !== 'divergence') ?? r?.data?.[0] ?? null;
      if (!anomaly) await sleep(2000);
    }
    assert(anomaly, 'no anomaly in /api/v1/anomalies within 180 s of simulation');
    console.log(`  anomaly: ${anomaly.crypto_id} ${anomaly.kind} at ${anomaly.time}`);
    await page.goto(`${base}/anomalies/`);
    await page.waitForSelector(tid('anomaly-row'), { timeout: 15_000 });
    await shot(page, 'anomalies');
    // The page lists the last 24 h of wall time plus what arrives live; at --speed 60 the
    // market runs ahead of the wall clock, so the anomaly found above may be outside that list.
    // Any listed anomaly must lead to a chart with its marker.
    const row = page.locator(tid('anomaly-row')).first();
    console.log(`  following the listed anomaly of ${await row.getAttribute('data-coin')}`);
    await row.locator(tid('anomaly-link')).click();
    await page.waitForURL(/\/coin\/\?id=.*at=/, { timeout: 10_000 });
    await page.waitForFunction(() => Number(document.querySelector('[data-testid="candle-chart"]')?.getAttribute('data-markers') ?? 0) > 0, null, { timeout: 20_000 });
    await shot(page, 'coin-anomaly');
  });

  await check('the news page shows headlines with sentiment badges', async () => {
    await page.goto(`${base}/news/`);
    await page.waitForSelector(tid('news-item'), { timeout: 20_000 });
    const items = await page.$$eval(tid('news-item'), (els) =>
      els.map((e) => ({
        title: e.querySelector('[data-testid="news-title"]')?.textContent?.trim() ?? '',
        tone: e.querySelector('[data-testid="sentiment-badge"]')?.getAttribute('data-tone') ?? null,
      })),
    );
    assert(items.length > 0, 'no articles');
    assert(items.every((i) => i.title.length > 0), 'an article without a headline');
    assert(items.every((i) => ['positive', 'negative', 'neutral'].includes(i.tone)), 'an article without a sentiment badge');
    await shot(page, 'news');
  });

  await check('the sentiment page draws its charts', async () => {
    await page.goto(`${base}/sentiment/`);
    await page.waitForSelector(`${tid('sentiment-chart')} canvas`, { timeout: 15_000 });
    await page.waitForFunction(() => Number(document.querySelector('[data-testid="fear-greed-chart"]')?.getAttribute('data-points') ?? 0) > 0, null, { timeout: 15_000 });
    await shot(page, 'sentiment');
  });

  await check('the status page lists the producers, the consumers and their lag', async () => {
    await page.goto(`${base}/status/`);
    await page.waitForSelector(tid('source-row'), { timeout: 15_000 });
    await page.waitForSelector(tid('consumer-card'), { timeout: 15_000 });
    const states = await page.$$eval(tid('consumer-state'), (cells) => cells.map((c) => c.textContent));
    assert(states.length === 3 && states.every((s) => s === 'running'), `consumer states: ${states.join(', ')}`);
    await page.waitForSelector(`${tid('consumer-lag')} td`, { timeout: 15_000 });
    const topics = await page.$$eval(`${tid('consumer-lag')} tbody tr td:nth-child(2)`, (cells) => cells.map((c) => c.textContent));
    assert(topics.includes('crypto-prices'), `no lag row for crypto-prices: ${topics.join(', ')}`);
    await shot(page, 'status');
  });

  await check('creating an alert makes a notification appear when it fires', async () => {
    await page.goto(`${base}/alerts/`);
    await page.fill(tid('api-key-input'), API_KEY);
    await page.click(tid('api-key-save'));
    await page.waitForSelector(tid('api-key-saved'));
    await page.selectOption(tid('alert-kind'), 'price_above');
    await page.waitForFunction(() => document.querySelectorAll('[data-testid="alert-coin"] option').length > 1, null, { timeout: 10_000 });
    await page.selectOption(tid('alert-coin'), 'bitcoin');
    const price = Number(await page.getAttribute(tid('alert-current-price'), 'data-price'));
    assert(price > 0, 'no current price shown for bitcoin');
    await page.fill(tid('alert-threshold'), (price * 0.995).toFixed(2));
    await page.click(tid('alert-create'));
    await page.waitForSelector(tid('alert-notice'), { timeout: 10_000 }).catch(async () => {
      const err = await page.textContent(tid('alert-form-error')).catch(() => null);
      throw new Error(`the rule was not created${err ? `: ${err}` : ''}`);
    });
    await page.waitForSelector(tid('alert-rule'), { timeout: 10_000 });
    await page.waitForSelector(`${tid('notification')}`, { timeout: 30_000 });
    const text = await page.textContent(tid('notification'));
    assert(text?.includes('bitcoin'), `notification does not name the coin: ${text}`);
    await shot(page, 'alerts');
    // Delete the rule again through the page.
    const n = await page.locator(tid('alert-rule')).count();
    await page.locator(tid('alert-delete')).first().click();
    await page.waitForFunction((k) => document.querySelectorAll('[data-testid="alert-rule"]').length === k - 1, n, { timeout: 10_000 });
  });

  await check('a phone-width overview fits and the light theme applies', async () => {
    const phone = await context.newPage();
    watch(phone);
    await phone.setViewportSize({ width: 390, height: 844 });
    await phone.goto(`${base}/`);
    await phone.waitForFunction(() => document.querySelectorAll('[data-testid="coin-row"]').length === 20, null, { timeout: 20_000 });
    const overflow = await phone.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
    assert(overflow <= 1, `the page is ${overflow}px wider than a phone`);
    await phone.click(tid('theme-toggle'));
    const theme = await phone.evaluate(() => document.documentElement.dataset.theme);
    assert(theme === 'light', `theme is ${theme} after toggling`);
    await shot(phone, 'overview-phone-light');
    await phone.click(tid('theme-toggle'));
    await phone.close();
  });

  await check('the main navigation is reachable with the keyboard', async () => {
    await page.goto(`${base}/`);
    await page.waitForSelector(tid('coin-row'), { timeout: 20_000 });
    const reached = [];
    for (let i = 0; i < 10; i++) {
      await page.keyboard.press('Tab');
      reached.push(await page.evaluate(() => document.activeElement?.getAttribute('data-testid') ?? document.activeElement?.textContent?.trim() ?? ''));
    }
    assert(reached.includes('nav-news'), `Tab did not reach the News link: ${reached.join(', ')}`);
    await page.focus(tid('nav-news'));
    await page.keyboard.press('Enter');
    await page.waitForURL(/\/news\/$/, { timeout: 10_000 });
  });

  await check('killing the server shows the disconnected state; restarting it reconnects', async () => {
    await page.goto(`${base}/`);
    await page.waitForFunction(() => document.querySelectorAll('[data-testid="coin-row"]').length === 20, null, { timeout: 20_000 });
    await page.waitForSelector(`${tid('connection-status')}[data-state="open"]`, { timeout: 10_000 });
    outage = true;
    await server.stop('SIGKILL');
    await page.waitForSelector(`${tid('connection-status')}:not([data-state="open"])`, { timeout: 10_000 });
    await page.waitForSelector(tid('disconnected-banner'), { timeout: 10_000 });
    await page.waitForSelector(`${tid('overview')}.stale`, { timeout: 5000 });
    await shot(page, 'disconnected');
    const restartedAt = Date.now();
    await server.start();
    await page.waitForSelector(`${tid('connection-status')}[data-state="open"]`, { timeout: 30_000 });
    outage = false;
    await page.waitForSelector(tid('disconnected-banner'), { state: 'detached', timeout: 5000 });
    await page.waitForSelector(`${tid('overview')}:not(.stale)`, { timeout: 5000 });
    // Events flow again on the new connection. (Prices themselves may hold still for a while:
    // the restarted simulator's market clock starts behind the first run's, and the viewer
    // never moves a price back in time.)
    await page.waitForFunction(
      (t) => Number(document.querySelector('[data-testid="connection-status"]')?.getAttribute('data-last-event') || 0) > t,
      restartedAt,
      { timeout: 15_000, polling: 200 },
    );
    const rows = await page.$$eval(tid('coin-row'), (els) => els.length);
    assert(rows === 20, `${rows} coins after reconnecting`);
    await shot(page, 'reconnected');
  });

  await check('no console errors on any page', async () => {
    assert(consoleErrors.length === 0, `${consoleErrors.length} console errors; first: ${consoleErrors.slice(0, 3).join(' | ')}`);
  });
} catch (e) {
  failed += 1;
  failures.push(`setup: ${e instanceof Error ? e.message : e}`);
  console.log(`not ok - setup: ${e instanceof Error ? e.message : e}`);
} finally {
  await browser?.close().catch(() => {});
  await server.stop('SIGTERM').catch(() => {});
}

if (failures.length) {
  console.log('\nFailures:');
  for (const f of failures) console.log(`  ${f}`);
}
console.log(`e2e: ${passed} passed, ${failed} failed`);
process.exit(failed === 0 ? 0 : 1);
