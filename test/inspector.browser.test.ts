/**
 * The inspector's bridge page in headless Chromium, with a local stand-in for
 * the Stately inspector UI (so nothing leaves 127.0.0.1): the page opens its
 * WebSocket with the token and its own Origin, and hands a real session's
 * inspection events to the UI frame once it says it is ready. A page of
 * another origin is refused, even with the token.
 */
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium, type BrowserContext } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createDemoAgent } from '../src/agents/demo.js';
import { startInspector, type RunningInspector } from '../src/runtime/inspector.js';
import { createRuntime, type SessionRuntime } from '../src/runtime/runtime.js';
import { SqliteStore } from '../src/storage/sqlite/sqlite-store.js';

const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
const ARGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run'];
// In CI the browser test must run (a missing Chromium fails it); elsewhere it may skip, saying why.
const skip = !existsSync(CHROMIUM) && process.env.CI !== 'true';
if (skip) console.warn(`inspector.browser.test.ts skipped: no Chromium at ${CHROMIUM} (install the Debian package "chromium", or set CHROMIUM_PATH)`);

/** The stand-in UI records what the bridge posts to it, after announcing itself as the real one does. */
const UI_PAGE = `<!doctype html><script>
window.received = [];
addEventListener('message', (event) => window.received.push(event.data));
parent.postMessage({ type: '@statelyai.connected' }, '*');
</script>`;

/** A page of another origin that tries the relay with the right token. */
const OTHER_PAGE = `<!doctype html><script>
window.outcome = new Promise((resolve) => {
  const socket = new WebSocket(new URLSearchParams(location.search).get('ws'));
  socket.onopen = () => resolve('open');
  socket.onerror = () => resolve('refused');
});
</script>`;

function serve(html: string): Promise<{ server: Server; origin: string }> {
  const server = createServer((_req, res) => res.writeHead(200, { 'Content-Type': 'text/html' }).end(html));
  return new Promise((resolve) =>
    server.listen(0, '127.0.0.1', () => resolve({ server, origin: `http://127.0.0.1:${(server.address() as { port: number }).port}` })),
  );
}

describe.skipIf(skip)('inspector bridge page (headless Chromium)', () => {
  let context: BrowserContext;
  let profile: string;
  let inspector: RunningInspector;
  let runtime: SessionRuntime;
  const servers: Server[] = [];

  beforeAll(async () => {
    const ui = await serve(UI_PAGE);
    servers.push(ui.server);
    inspector = await startInspector({ port: 0, uiUrl: `${ui.origin}/inspect` });
    runtime = createRuntime({
      store: new SqliteStore(':memory:'),
      agents: new Map([['demo', createDemoAgent({ tokenDelayMs: 0 })]]),
      defaultAgent: 'demo',
      inspector,
    });
    await runtime.start();
    profile = mkdtempSync(join(tmpdir(), 'bamboo-chromium-'));
    context = await chromium.launchPersistentContext(profile, { executablePath: CHROMIUM, headless: true, args: ARGS });
  }, 60_000);

  afterAll(async () => {
    await context?.close();
    await runtime?.shutdown();
    await inspector?.stop();
    for (const server of servers) server.close();
    if (profile) rmSync(profile, { recursive: true, force: true });
  });

  it("feeds a real session's inspection events to the UI frame", async () => {
    const session = await runtime.createSession({ title: 'seen in the browser' });
    await runtime.appendMessage(session.id, 'hello');

    const page = await context.newPage();
    const errors: string[] = [];
    page.on('pageerror', (error) => errors.push(error.message));
    await page.goto(inspector.pageUrl);
    await expect.poll(() => page.frames().some((candidate) => candidate.url().endsWith('/inspect'))).toBe(true);
    const ui = page.frames().find((candidate) => candidate.url().endsWith('/inspect'))!;
    await expect
      .poll(() => ui.evaluate((id) => (window as unknown as { received: { type: string; name?: string }[] }).received.some((event) => event.type === '@xstate.actor' && event.name === id), session.id), {
        timeout: 15_000,
      })
      .toBe(true);
    // Live events keep arriving after the replay.
    const second = await runtime.createSession({ title: 'after the page opened' });
    await expect
      .poll(() => ui.evaluate((id) => (window as unknown as { received: { name?: string }[] }).received.some((event) => event.name === id), second.id))
      .toBe(true);
    expect(errors).toEqual([]);
  });

  it('refuses a page of another origin, even with the token', async () => {
    const other = await serve(OTHER_PAGE);
    servers.push(other.server);
    const page = await context.newPage();
    await page.goto(`${other.origin}/?ws=${encodeURIComponent(inspector.url)}`);
    expect(await page.evaluate(() => (window as unknown as { outcome: Promise<string> }).outcome)).toBe('refused');
  });
});
