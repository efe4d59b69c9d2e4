/**
 * The console's network layer in a real browser: the SSE parser, the event
 * stream catching up exactly once after the connection is cut (a TCP proxy
 * between Chromium and the server) and after a reload, and API keys: a 401
 * opens one key form, the retried and every later request carry the key.
 */
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { api, createSession, eventSeqs, expectStep, sessionState, skipBrowser, startProxy, startRig, watch, type ConsoleRig } from './console/helpers.js';

describe.skipIf(skipBrowser)('web console network (headless Chromium)', () => {
  let rig: ConsoleRig;

  beforeAll(async () => {
    rig = await startRig();
  }, 60_000);
  afterAll(() => rig?.close());

  const open = (path: string): Promise<Page> => rig.open(path);

  it('parses SSE: ids, event names, comments, multi-line data, every line ending, split anywhere', async () => {
    const page = await open('/');
    const stream =
      ': ping\r\nid: 1\r\nevent: token\r\ndata: {"a":1}\n\n' +
      'data:first\r\ndata: second\r\r' +
      'id:2\nretry: 1500\nevent\ndata\n\n' +
      'event: no-data\n\nid: 3\ndata:  two spaces\r\n\r\n' +
      'data: unfinished';
    // Fed in chunks of every size, the parser must always give the same messages.
    const results = (await page.evaluate(`(async () => {
      const { SseParser } = await import('./console/sse.js');
      const stream = ${JSON.stringify(stream)};
      const seen = new Set();
      for (let size = 1; size <= stream.length; size++) {
        const messages = [];
        const parser = new SseParser((message) => messages.push(message));
        for (let at = 0; at < stream.length; at += size) parser.push(stream.slice(at, at + size));
        seen.add(JSON.stringify({ messages, retry: parser.retry }));
      }
      return [...seen];
    })()`)) as string[];
    expect(results).toHaveLength(1);
    expect(JSON.parse(results[0]!)).toEqual({
      messages: [
        { id: '1', event: 'token', data: '{"a":1}' },
        { id: '1', event: 'message', data: 'first\nsecond' },
        { id: '2', event: 'message', data: '' },
        { id: '3', event: 'message', data: ' two spaces' },
      ],
      retry: 1500,
    });
    await page.close();
  });

  it('catches up with every event exactly once after the connection drops, and after a reload', async () => {
    const proxy = await startProxy(rig.server.url);
    const id = await createSession(rig.server.url, { title: 'Flaky network' });
    await api(rig.server.url, 'POST', `/sessions/${id}/messages`, { content: 'before the drop' });
    await expect.poll(() => sessionState(rig.server.url, id)).toBe('completed');

    const page = await rig.context.newPage();
    const streams: (string | undefined)[] = [];
    page.on('request', (request) => {
      if (request.url().includes(`/sessions/${id}/events`)) streams.push(request.headers()['last-event-id']);
    });
    const logged = () => page.locator('#event-log .seq').allTextContents().then((all) => all.map((seq) => Number(seq.trim().slice(1))));
    const stored = async () => (await eventSeqs(rig.server.url, id)).filter((event) => event.type !== 'token').map((event) => event.seq);
    await page.goto(`${proxy.url}/?session=${id}`);
    await expect.poll(logged).toEqual(await stored());
    const before = (await stored()).at(-1)!;

    await rig.context.setOffline(true);
    proxy.cut();
    await expect.poll(() => page.locator('#status-line').textContent()).toContain('Reconnecting');
    await api(rig.server.url, 'POST', `/sessions/${id}/messages`, { content: 'while away' });
    await expect.poll(() => sessionState(rig.server.url, id)).toBe('completed');
    await rig.context.setOffline(false);

    const chat = page.getByRole('log', { name: 'Conversation' });
    await chat.getByText('Echo: while away').waitFor();
    await expect.poll(logged).toEqual(await stored());
    expect(await chat.getByText('Echo: while away').count()).toBe(1);
    expect(streams[0]).toBe('0');
    expect(streams.length).toBeGreaterThan(1);
    for (const header of streams.slice(1)) expect(header).toBe(String(before));
    await expectStep(page, 'completed', 'after reconnecting', {});

    await page.reload();
    await chat.getByText('Echo: while away').waitFor();
    await expect.poll(logged).toEqual(await stored());
    expect(await chat.getByText('Echo: while away').count()).toBe(1);
    await page.close();
    await proxy.close();
  });

  it('asks for an API key once on 401, retries with it and sends it on every request; Forget clears it', async () => {
    const id = await createSession(rig.server.url, { title: 'Keyed', agent: 'demo' });
    const page = await rig.context.newPage();
    const problems = watch(page);
    const requests: { path: string; auth: string | undefined }[] = [];
    page.on('request', (request) => {
      const { pathname } = new URL(request.url());
      if (pathname.startsWith('/api/')) requests.push({ path: pathname, auth: request.headers()['authorization'] });
    });
    // A server that wants a key: every API request without `Bearer test-key` is refused.
    await page.route('**/api/**', (route) =>
      route.request().headers()['authorization'] === 'Bearer test-key'
        ? route.fallback()
        : route.fulfill({ status: 401, contentType: 'application/json', body: JSON.stringify({ error: { code: 'unauthorized', message: 'An API key is required' } }) }),
    );
    // Counts how often the key form opens: several refused requests at once must share one form.
    await page.addInitScript(() => {
      const showModal = HTMLDialogElement.prototype.showModal;
      const counter = window as unknown as { keyPrompts: number };
      counter.keyPrompts = 0;
      HTMLDialogElement.prototype.showModal = function (this: HTMLDialogElement) {
        if (this.id === 'key-dialog') counter.keyPrompts++;
        showModal.call(this);
      };
    });
    const prompts = () => page.evaluate(() => (window as unknown as { keyPrompts: number }).keyPrompts);
    await page.goto(`${rig.server.url}/?session=${id}`);

    const dialog = page.getByRole('dialog', { name: 'API key' });
    await dialog.waitFor();
    const refused = [...new Set(requests.map((request) => request.path))];
    expect(refused).toEqual(expect.arrayContaining(['/api/v1/sessions', `/api/v1/sessions/${id}`, '/api/v1/machines/session.svg']));
    await dialog.getByLabel('Key', { exact: true }).fill('test-key');
    await dialog.getByRole('button', { name: 'Use key' }).click();

    await page.getByRole('heading', { level: 2, name: 'Keyed' }).waitFor();
    await page.locator('#diagram svg').waitFor();
    await page.getByRole('list', { name: 'Event log' }).getByText('session_created').waitFor();
    expect(await dialog.isVisible()).toBe(false);
    expect(await prompts()).toBe(1);
    expect(await page.evaluate(() => sessionStorage.getItem('bamboo.apiKey'))).toBe('test-key');
    const firstKeyed = requests.findIndex((request) => request.auth !== undefined);
    const keyed = requests.slice(firstKeyed);
    for (const request of keyed) expect(request.auth, request.path).toBe('Bearer test-key');
    for (const path of refused) expect(keyed.map((request) => request.path)).toContain(path);
    expect(keyed.map((request) => request.path)).toContain(`/api/v1/sessions/${id}/events`);

    await page.getByRole('button', { name: 'Forget API key' }).click();
    expect(await page.evaluate(() => sessionStorage.getItem('bamboo.apiKey'))).toBeNull();
    expect(await page.getByRole('button', { name: 'Forget API key' }).isVisible()).toBe(false);
    const sent = requests.length;
    await page.getByLabel('Title of the new session').fill('Without a key');
    await page.getByRole('button', { name: 'New session' }).click();
    await dialog.waitFor();
    expect(requests.slice(sent).every((request) => request.auth === undefined)).toBe(true);
    await dialog.getByRole('button', { name: 'Cancel' }).click();
    await expect.poll(() => page.getByRole('alert').textContent()).toContain('unauthorized');
    expect(await prompts()).toBe(2);
    expect(await page.getByRole('button', { name: 'Enter API key' }).isVisible()).toBe(true);

    // Chromium logs each refused request to the console; those 401s are the point of this test.
    expect(problems.filter((problem) => !problem.includes('status of 401'))).toEqual([]);
    await page.unrouteAll();
    await page.close();
  });
});
