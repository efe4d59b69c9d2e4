/**
 * The web console in a real browser: headless Chromium drives a full
 * human-in-the-loop turn through the page served by the real server, then the
 * shared link `/?session=ID` and a phone-width screen. Screenshots go to
 * test-results/; with BAMBOO_UPDATE_DOCS=1 also to docs/ for the README.
 */
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium, type BrowserContext, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createServer, type BambooServer } from '../src/server.js';

const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
const ARGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run'];
// In CI the browser test must run (a missing Chromium fails it); elsewhere it may skip, saying why.
const skip = !existsSync(CHROMIUM) && process.env.CI !== 'true';
if (skip) console.warn(`console.browser.test.ts skipped: no Chromium at ${CHROMIUM} (install the Debian package "chromium", or set CHROMIUM_PATH)`);

const OUT = 'test-results';
const updateDocs = process.env.BAMBOO_UPDATE_DOCS === '1';

describe.skipIf(skip)('web console (headless Chromium)', () => {
  let server: BambooServer;
  let context: BrowserContext;
  let profile: string;
  let sessionId: string;

  beforeAll(async () => {
    server = await createServer({ dbPath: ':memory:', port: 0, host: '127.0.0.1', tokenDelayMs: 5 });
    profile = mkdtempSync(join(tmpdir(), 'bamboo-chromium-'));
    context = await chromium.launchPersistentContext(profile, {
      executablePath: CHROMIUM,
      headless: true,
      args: ARGS,
      viewport: { width: 1280, height: 820 },
    });
    mkdirSync(OUT, { recursive: true });
  }, 60_000);

  afterAll(async () => {
    await context?.close();
    await server?.close();
    if (profile) rmSync(profile, { recursive: true, force: true });
  });

  /** Fails the test on any script error or failed request of the page. */
  function watch(page: Page): string[] {
    const problems: string[] = [];
    page.on('pageerror', (error) => problems.push(`page error: ${error.message}`));
    page.on('console', (message) => {
      if (message.type() === 'error') problems.push(`console error: ${message.text()}`);
    });
    page.on('requestfailed', (request) => problems.push(`request failed: ${request.url()}`));
    return problems;
  }

  it('creates a session and runs a full HITL turn: ask, click red, see the reply', async () => {
    const page = await context.newPage();
    const problems = watch(page);
    await page.goto(server.url);

    await page.getByLabel('Title of the new session').fill('Colours');
    await page.getByRole('button', { name: 'New session' }).click();
    await page.waitForURL(/\?session=ses_/);
    sessionId = new URL(page.url()).searchParams.get('session')!;
    await expect.poll(() => page.getByRole('heading', { level: 2, name: 'Colours' }).isVisible()).toBe(true);

    const chat = page.getByRole('log', { name: 'Conversation' });
    await page.getByLabel('Message').fill('hello world');
    await page.getByLabel('Message').press('Enter');
    await chat.getByText('Echo: hello world').waitFor();

    await page.getByLabel('Message').fill('/ask Pick one | red | blue');
    await page.getByRole('button', { name: 'Send' }).click();
    const answers = page.getByRole('group', { name: 'Answers' });
    await answers.getByRole('button', { name: 'red', exact: true }).waitFor();
    expect(await page.locator('#question-text').textContent()).toBe('Pick one');
    expect(await answers.getByRole('button').allTextContents()).toEqual(['red', 'blue']);
    expect(await page.getByLabel('Your answer').isVisible()).toBe(false);
    await expect.poll(() => page.getByRole('status', { name: 'State' }).textContent()).toBe('awaitingUser');

    await answers.getByRole('button', { name: 'red', exact: true }).click();
    await chat.getByText('You answered: red').waitFor();
    await expect.poll(() => page.getByRole('status', { name: 'State' }).textContent()).toBe('completed');
    await expect.poll(() => page.locator('#question').isHidden()).toBe(true);

    // The live diagram follows the state and is a real, decodable image.
    const diagram = page.getByRole('img', { name: /statechart/ });
    await expect.poll(() => diagram.getAttribute('src')).toContain('state=completed');
    await expect.poll(() => diagram.evaluate((img: HTMLImageElement) => img.complete && img.naturalWidth > 0)).toBe(true);

    const log = page.getByRole('list', { name: 'Event log' });
    await log.getByText('question_answered').waitFor();
    await expect.poll(() => log.getByText('running → completed').count()).toBe(2);
    await expect.poll(() => page.getByRole('navigation').getByRole('button', { name: /Colours/ }).textContent()).toContain('completed');

    await page.waitForTimeout(200);
    await page.screenshot({ path: join(OUT, 'console.png') });
    if (updateDocs) {
      mkdirSync('docs', { recursive: true });
      await page.screenshot({ path: 'docs/console.png' });
      writeFileSync('docs/diagram.svg', await (await fetch(`${server.url}/api/v1/machines/session.svg`)).text());
    }
    expect(problems).toEqual([]);
    await page.close();
  });

  it('opens a shared link /?session=ID directly, at phone width too', async () => {
    const page = await context.newPage();
    const problems = watch(page);
    await page.setViewportSize({ width: 375, height: 812 });
    await page.goto(`${server.url}/?session=${sessionId}`);

    const chat = page.getByRole('log', { name: 'Conversation' });
    await chat.getByText('You answered: red').waitFor();
    expect(await chat.getByText('Pick one (red / blue)').isVisible()).toBe(true);
    expect(await page.getByRole('heading', { level: 2, name: 'Colours' }).isVisible()).toBe(true);
    // Nothing wider than the screen: no sideways scrolling on a phone.
    expect(await page.evaluate(() => document.documentElement.scrollWidth)).toBeLessThanOrEqual(375);
    expect(await page.getByLabel('Message').isVisible()).toBe(true);

    await page.screenshot({ path: join(OUT, 'console-phone.png'), fullPage: true });
    expect(problems).toEqual([]);
    await page.close();
  });

  it('shows an unknown session as an error, not a blank page', async () => {
    const page = await context.newPage();
    await page.goto(`${server.url}/?session=ses_nope`);
    await expect.poll(() => page.getByRole('alert').textContent()).toContain('session_not_found');
    expect(await page.getByRole('heading', { name: 'No session selected' }).isVisible()).toBe(true);
    await page.close();
  });
});
