/**
 * The attacks of the front-door issue, replayed in Chromium against a real
 * server on 127.0.0.1, and failing: a page on a DNS name rebound to the
 * server, and pages on another site posting forms and fetches at it. Names
 * resolve to 127.0.0.1 through Chromium's own resolver rules; nothing leaves
 * this machine.
 */
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { createServer as createHttpServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium, type BrowserContext } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createServer, type BambooServer } from '../src/server.js';

const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
const skip = !existsSync(CHROMIUM) && process.env.CI !== 'true';
if (skip) console.warn(`front-door.browser.test.ts skipped: no Chromium at ${CHROMIUM} (install the Debian package "chromium", or set CHROMIUM_PATH)`);
const ARGS = [
  '--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run',
  '--host-resolver-rules=MAP rebind.evil 127.0.0.1, MAP evil.example 127.0.0.1',
];

describe.skipIf(skip)('front door in a browser', () => {
  let bamboo: BambooServer;
  let attacker: Server;
  let attackerPort: number;
  let context: BrowserContext;
  let profile: string;
  const api = (path: string, init?: RequestInit) => fetch(`${bamboo.url}/api/v1${path}`, init).then((r) => r.json() as Promise<any>);

  beforeAll(async () => {
    bamboo = await createServer({ dbPath: ':memory:', port: 0, host: '127.0.0.1', tokenDelayMs: 0 });
    // The attacker's site: whatever page the test asks for, as HTML.
    attacker = createHttpServer((req, res) => {
      const page = new URL(req.url ?? '/', 'http://x').searchParams.get('html') ?? '';
      res.writeHead(200, { 'Content-Type': 'text/html' }).end(page);
    });
    await new Promise<void>((resolve) => attacker.listen(0, '127.0.0.1', resolve));
    attackerPort = (attacker.address() as AddressInfo).port;
    profile = mkdtempSync(join(tmpdir(), 'bamboo-chromium-'));
    context = await chromium.launchPersistentContext(profile, { executablePath: CHROMIUM, headless: true, args: ARGS });
  }, 60_000);

  afterAll(async () => {
    await context?.close();
    await bamboo?.close();
    await new Promise((resolve) => attacker?.close(resolve));
    if (profile) rmSync(profile, { recursive: true, force: true });
  });

  it('a page on a name rebound to the server reads nothing and deletes nothing', async () => {
    const { session } = await api('/sessions', { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify({ title: 'private' }) });
    const page = await context.newPage();
    // The rebound page's origin is rebind.evil:PORT, and its requests go to 127.0.0.1 with that Host.
    const landing = await page.goto(`http://rebind.evil:${bamboo.port}/`);
    expect(landing?.status()).toBe(421);
    const outcome = await page.evaluate(async (id) => {
      const list = await fetch('/api/v1/sessions');
      const removal = await fetch(`/api/v1/sessions/${id}`, { method: 'DELETE' });
      return { list: list.status, body: await list.text(), removal: removal.status };
    }, session.id);
    expect(outcome).toMatchObject({ list: 421, removal: 421 });
    expect(outcome.body).not.toContain(session.id);
    expect(outcome.body).toContain('host_not_allowed');
    expect((await api(`/sessions/${session.id}`)).session.title).toBe('private');
    await page.close();
  });

  it('pages on another site cannot cancel a run, create sessions or send messages, with forms or fetches', async () => {
    const { session } = await api('/sessions', { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify({}) });
    await api(`/sessions/${session.id}/messages`, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify({ content: '/sleep 20000' }) });
    const before = (await api('/sessions')).sessions.length;
    const target = bamboo.url;
    const html = `<!doctype html><body>
      <form id="cancel" method="POST" enctype="text/plain" action="${target}/api/v1/sessions/${session.id}/cancel"></form>
      <iframe name="sink"></iframe>
      <script>
        document.getElementById('cancel').target = 'sink';
        document.getElementById('cancel').submit();
        Promise.all([
          fetch('${target}/api/v1/sessions', { method: 'POST', mode: 'no-cors' }),
          fetch('${target}/api/v1/sessions/${session.id}/messages', { method: 'POST', mode: 'no-cors', headers: { 'Content-Type': 'text/plain' }, body: '{"content":"hi"}' }),
          fetch('${target}/api/v1/sessions/${session.id}/messages', { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: '{"content":"hi"}' }).catch(() => 'blocked'),
        ]).then(() => { document.title = 'done'; });
      </script></body>`;
    const page = await context.newPage();
    const refusals: number[] = [];
    page.on('response', (response) => {
      if (response.url().startsWith(target)) refusals.push(response.status());
    });
    await page.goto(`http://evil.example:${attackerPort}/?html=${encodeURIComponent(html)}`);
    await expect.poll(() => page.title()).toBe('done');
    await expect.poll(() => refusals.length).toBeGreaterThanOrEqual(3);
    // Every request that reached the server was refused; the JSON one was stopped by the browser's preflight.
    expect(refusals.every((status) => status === 403)).toBe(true);
    const view = (await api(`/sessions/${session.id}`)).session;
    expect(view).toMatchObject({ state: 'running', message_count: 1 });
    expect((await api('/sessions')).sessions).toHaveLength(before);
    await api(`/sessions/${session.id}/cancel`, { method: 'POST' });
    await page.close();
  });
});
