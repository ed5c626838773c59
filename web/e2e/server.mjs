// Starting and stopping the real cryptoviz binary for the end-to-end tests.

import { spawn } from 'node:child_process';
import { createServer } from 'node:net';
import { openSync, writeFileSync } from 'node:fs';

/** A free TCP port on 127.0.0.1 (bound, read, released). */
export function freePort() {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address();
      s.close(() => resolve(port));
    });
  });
}

export class Server {
  /**
   * @param {{bin: string, port: number, dataDir: string, webDir: string, apiKey: string, logFile: string, pidFile: string}} o
   */
  constructor(o) {
    this.o = o;
    this.child = null;
    this.base = `http://127.0.0.1:${o.port}`;
  }

  /** Starts the binary and waits until /health answers (or fails after `timeoutMs`). */
  async start(timeoutMs = 60_000) {
    const { bin, port, dataDir, webDir, apiKey, logFile, pidFile } = this.o;
    const log = openSync(logFile, 'a');
    this.child = spawn(bin, ['run', '--simulate', '--speed', '60', '--listen', `127.0.0.1:${port}`, '--data-dir', dataDir], {
      env: {
        ...process.env,
        CRYPTOVIZ__API__WEB_DIR: webDir,
        CRYPTOVIZ__API__KEYS: apiKey,
        // Inject anomalies: 120 price jumps (3-8 %) per coin per market day instead of 1, so
        // that at speed 60 a jump lands every few seconds and the anomaly marker test does not
        // wait on chance.
        CRYPTOVIZ__SIMULATOR__JUMPS_PER_DAY: '120',
        RUST_LOG: process.env.RUST_LOG ?? 'info',
      },
      stdio: ['ignore', log, log],
    });
    writeFileSync(pidFile, String(this.child.pid));
    const child = this.child;
    let exited = null;
    child.once('exit', (code, signal) => {
      exited = { code, signal };
    });
    const deadline = Date.now() + timeoutMs;
    while (Date.now() < deadline) {
      if (exited) throw new Error(`cryptoviz exited during start-up (${JSON.stringify(exited)}); see ${logFile}`);
      try {
        const r = await fetch(`${this.base}/health`);
        if (r.ok) return;
      } catch {
        // not listening yet
      }
      await sleep(250);
    }
    throw new Error(`cryptoviz did not answer /health within ${timeoutMs} ms; see ${logFile}`);
  }

  /** Kills the process (SIGKILL unless told otherwise) and waits for it to exit. */
  async stop(signal = 'SIGKILL') {
    const child = this.child;
    if (!child || child.exitCode !== null || child.signalCode !== null) return;
    const gone = new Promise((resolve) => child.once('exit', resolve));
    child.kill(signal);
    const t = setTimeout(() => child.kill('SIGKILL'), 20_000);
    await gone;
    clearTimeout(t);
    writeFileSync(this.o.pidFile, '');
    this.child = null;
  }

  /** GET a JSON API path (`/api/v1/...`); null on any failure. */
  async json(path) {
    try {
      const r = await fetch(`${this.base}${path}`);
      return r.ok ? await r.json() : null;
    } catch {
      return null;
    }
  }
}

export function sleep(ms) {
  return new Promise((r) => setTimeout(r, ms));
}
