/**
 * The console against a server that requires API keys: it asks for a key once,
 * sends it as a header (never in a URL), streams events over fetch, and sees
 * only its tenant's sessions.
 */
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium, type BrowserContext } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createServer, type BambooServer } from '../src/server.js';

const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
const skip = !existsSync(CHROMIUM) && process.env.CI !== 'true';
if (skip) console.warn(`console-keys.browser.test.ts skipped: no Chromium at ${CHROMIUM} (install the Debian package "chromium", or set CHROMIUM_PATH)`);
const ARGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run'];

const ACME = 'acme-console-key-0123456789abcdef';
const BETA = 'beta-console-key-0123456789abcdef';

describe.skipIf(skip)('console with API keys (headless Chromium)', () => {
  let server: BambooServer;
  let context: BrowserContext;
  let profile: string;

  beforeAll(async () => {
    server = await createServer({
      dbPath: ':memory:',
      port: 0,
      tokenDelayMs: 5,
      access: { apiKeys: [{ tenant: 'acme', key: ACME }, { tenant: 'beta', key: BETA }] },
    });
    profile = mkdtempSync(join(tmpdir(), 'bamboo-chromium-'));
    context = await chromium.launchPersistentContext(profile, { executablePath: CHROMIUM, headless: true, args: ARGS, viewport: { width: 1280, height: 820 } });
  }, 60_000);

  afterAll(async () => {
    await context?.close();
    await server?.close();
    if (profile) rmSync(profile, { recursive: true, force: true });
  });

  it('asks for the key once, then runs a HITL turn with it in headers only, and lists only its tenant', async () => {
    const other = await fetch(`${server.url}/api/v1/sessions`, {
      method: 'POST',
      headers: { Authorization: `Bearer ${BETA}`, 'Content-Type': 'application/json' },
      body: JSON.stringify({ title: 'Beta private' }),
    });
    expect(other.status).toBe(201);

    const page = await context.newPage();
    const urls: string[] = [];
    const unauthorized: string[] = [];
    page.on('request', (request) => urls.push(request.url()));
    page.on('response', (response) => {
      if (response.status() === 401) unauthorized.push(response.url());
    });
    await page.goto(`${server.url}/`);
    const dialog = page.getByRole('dialog', { name: 'API key' });
    await dialog.waitFor();
    await dialog.getByLabel('Key').fill(ACME);
    await dialog.getByRole('button', { name: 'Use key' }).click();
    await expect.poll(() => dialog.isVisible()).toBe(false);

    await page.getByPlaceholder('Title (optional)').fill('Acme colours');
    await page.getByPlaceholder('Title (optional)').press('Enter');
    await page.getByRole('heading', { name: 'Acme colours' }).waitFor();
    await page.getByLabel('Message').fill('/ask Pick a colour | red | blue');
    await page.getByLabel('Message').press('Enter');
    await page.getByRole('group', { name: 'Answers' }).getByRole('button', { name: 'red', exact: true }).click();
    await page.getByRole('log', { name: 'Conversation' }).getByText('You answered: red').waitFor();

    const list = page.getByRole('navigation');
    await expect.poll(() => list.textContent()).toContain('Acme colours');
    expect(await list.textContent()).not.toContain('Beta private');
    // The key never went into a URL, and the form was needed once.
    expect(urls.some((url) => url.includes(ACME))).toBe(false);
    expect(await page.evaluate(() => sessionStorage.getItem('bamboo.apiKey'))).toBe(ACME);
    const { sessions } = (await (await fetch(`${server.url}/api/v1/sessions`, { headers: { 'x-api-key': ACME } })).json()) as { sessions: { title: string }[] };
    expect(sessions.map((session) => session.title)).toEqual(['Acme colours']);
    expect(unauthorized.length).toBeGreaterThan(0);
    await page.reload();
    await list.getByText('Acme colours').waitFor();
    expect(await dialog.isVisible()).toBe(false);
    await page.close();
  });

  it('after wrong keys, the right one opens the linked session and clears the error; another tenant\'s key closes it', async () => {
    const created = await fetch(`${server.url}/api/v1/sessions`, {
      method: 'POST',
      headers: { Authorization: `Bearer ${ACME}`, 'Content-Type': 'application/json' },
      body: JSON.stringify({ title: 'Acme linked' }),
    });
    const { session } = (await created.json()) as { session: { id: string } };
    const page = await context.newPage();
    await page.goto(`${server.url}/?session=${session.id}`);
    const dialog = page.getByRole('dialog', { name: 'API key' });
    const enter = async (key: string) => {
      await dialog.waitFor();
      await dialog.getByLabel('Key').fill(key);
      await dialog.getByRole('button', { name: 'Use key' }).click();
    };
    await enter('not-the-key-of-anyone-00000');
    await enter('still-not-the-key-000000000');
    // Refused twice: the key is not kept, and the next request asks again.
    await enter(ACME);
    await page.getByRole('heading', { level: 2, name: 'Acme linked' }).waitFor();
    await expect.poll(() => page.locator('#alert').isHidden()).toBe(true);
    expect(await page.evaluate(() => sessionStorage.getItem('bamboo.apiKey'))).toBe(ACME);

    // Another tenant's key, entered when the next list refresh asks: its session is not shown any more, nor listed.
    await page.getByRole('button', { name: 'Forget API key' }).click();
    await enter(BETA);
    await expect.poll(() => page.locator('#session-view').isHidden()).toBe(true);
    await expect.poll(() => page.getByRole('navigation').textContent()).not.toContain('Acme linked');
    await page.close();
  });
});
