// Shared e2e harness: start the real `yiping` binary on a free port, and launch Debian's Chromium.
import { spawn } from 'node:child_process';
import { createServer } from 'node:net';
import { mkdtempSync, mkdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { before, after } from 'node:test';
import { chromium } from 'playwright-core';

const here = dirname(fileURLToPath(import.meta.url));
export const root = resolve(here, '..', '..');
export const artifacts = join(root, 'e2e', 'artifacts');
mkdirSync(artifacts, { recursive: true });

/** The server binary under test: $YIPING_BIN, else the release build. */
export const serverBin = process.env.YIPING_BIN ?? join(root, 'target', 'release', 'yiping');

/** A TCP port that is free right now. */
export function freePort() {
  return new Promise((res, rej) => {
    const s = createServer();
    s.once('error', rej);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address();
      s.close(() => res(port));
    });
  });
}

/** Wait `ms` milliseconds. */
export const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/** A new empty folder under the system's temporary folder, named `yiping-e2e-<name>-XXXXXX`. */
export function tempDir(name) {
  return mkdtempSync(join(tmpdir(), `yiping-e2e-${name}-`));
}

/** Write a deployment's rules file (`serve --rules`), `rules.toml` in `dir`, holding `toml`; returns its path. */
export function writeRules(dir, toml) {
  const path = join(dir, 'rules.toml');
  writeFileSync(path, toml);
  return path;
}

/** Start `yiping serve` on `port` with a fresh data folder; resolves once /healthz answers 200. */
export async function startServer(port, dataDir = mkdtempSync(join(tmpdir(), 'yiping-e2e-')), extra = []) {
  const proc = spawn(serverBin, ['serve', '--addr', `127.0.0.1:${port}`, '--data', dataDir, ...extra], {
    stdio: ['ignore', 'inherit', 'inherit'],
    env: { ...process.env, RUST_LOG: process.env.RUST_LOG ?? 'warn' },
  });
  let exited = null;
  proc.once('exit', (code, signal) => { exited = { code, signal }; });
  const deadline = Date.now() + 20_000;
  while (Date.now() < deadline) {
    if (exited) throw new Error(`yiping exited early: ${JSON.stringify(exited)}`);
    try {
      const r = await fetch(`http://127.0.0.1:${port}/healthz`);
      if (r.status === 200) return { proc, port, dataDir, url: `http://127.0.0.1:${port}` };
    } catch { /* not listening yet */ }
    await sleep(100);
  }
  proc.kill('SIGKILL');
  throw new Error(`yiping did not answer /healthz on port ${port} within 20 s`);
}

/** `startServer` on a free port: `dataDir` (a fresh folder if not given), `args` added to `yiping serve`. */
export async function serve({ dataDir, args = [] } = {}) {
  return startServer(await freePort(), dataDir, args);
}

/** Run `fn(server)` against a server started as `serve(options)` does, and kill the server after it, whatever happens. */
export async function withServer(options, fn) {
  const server = await serve(options);
  try {
    return await fn(server);
  } finally {
    await killServer(server);
  }
}

/** Kill the server hard (as a crash would) and wait for it to be gone. */
export async function killServer(server) {
  if (server.proc.exitCode !== null || server.proc.signalCode !== null) return;
  const gone = new Promise((r) => server.proc.once('exit', r));
  server.proc.kill('SIGKILL');
  await gone;
}

/** Debian's Chromium, headless, with the flags this closed network needs. */
export async function launchBrowser() {
  return chromium.launch({
    executablePath: process.env.CHROMIUM ?? '/usr/bin/chromium',
    headless: true,
    args: [
      '--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
      '--disable-background-networking', '--disable-component-update', '--disable-sync',
    ],
  });
}

/** Kill `servers` and close `browser`; any of them may be missing (a set-up that failed half way). */
export async function closeAll(browser, ...servers) {
  for (const server of servers) if (server) await killServer(server);
  await browser?.close();
}

/** Poll `fn` until it returns a truthy value or `ms` pass. */
export async function until(fn, ms, what) {
  const deadline = Date.now() + ms;
  let last;
  while (Date.now() < deadline) {
    last = await fn();
    if (last) return last;
    await sleep(100);
  }
  throw new Error(`timed out after ${ms} ms waiting for ${what} (last: ${JSON.stringify(last)})`);
}

/**
 * For a test file whose tests share one browser and one server (`serve(options)`): both start
 * before its first test and close after its last. Returns `{ browser, server }`, set once started.
 */
export function shareBrowserAndServer(options) {
  const shared = { browser: null, server: null };
  before(async () => {
    shared.browser = await launchBrowser();
    shared.server = await serve(options);
  });
  after(() => closeAll(shared.browser, shared.server));
  return shared;
}
