/**
 * Bamboo inside someone else's Express app, as the README shows it: mounted
 * under /bamboo behind the app's own middleware, on the app's port only.
 */
import { createServer as createHttpServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import express, { type NextFunction, type Request, type Response } from 'express';
import { afterEach, describe, expect, it } from 'vitest';
import { createBamboo, type Bamboo } from '../../src/index.js';
import { EventLog } from './sse-client.js';
import { tempDb } from './helpers.js';

const cleanups: (() => Promise<unknown>)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

/** The README's example, with a stand-in for the app's own login check. */
async function embed(): Promise<{ base: string; bamboo: Bamboo; http: Server }> {
  const app = express();
  const bamboo = await createBamboo({ dbPath: tempDb(), tokenDelayMs: 0 });
  const requireLogin = (req: Request, res: Response, next: NextFunction) => {
    if (req.get('x-user') === 'ada') next();
    else res.status(401).json({ error: 'log in first' });
  };
  app.use('/bamboo', requireLogin, bamboo.app);
  const http = createHttpServer(app);
  await new Promise<void>((ready) => http.listen(0, '127.0.0.1', ready));
  cleanups.push(async () => {
    await bamboo.close();
    const closed = new Promise((done) => http.close(done));
    http.closeAllConnections(); // the test's idle keep-alive sockets
    await closed;
  });
  return { base: `http://127.0.0.1:${(http.address() as AddressInfo).port}/bamboo`, bamboo, http };
}

const asAda = { 'x-user': 'ada', 'content-type': 'application/json' };

async function post(url: string, body: unknown): Promise<{ status: number; body: any }> {
  const reply = await fetch(url, { method: 'POST', headers: asAda, body: JSON.stringify(body) });
  return { status: reply.status, body: await reply.json() };
}

describe('createBamboo mounted under /bamboo of an existing Express app', () => {
  it('serves a human-in-the-loop turn under the mount, behind the app’s own middleware', async () => {
    const { base } = await embed();
    expect((await fetch(`${base}/api/v1/sessions`)).status).toBe(401);

    const created = await post(`${base}/api/v1/sessions`, { title: 'Embedded' });
    expect(created.status).toBe(201);
    const id = created.body.session.id as string;
    const asked = await post(`${base}/api/v1/sessions/${id}/messages`, { content: '/ask Pick one | red | blue' });
    expect(asked.status).toBe(202);
    // Links the API hands out carry the mount point.
    expect(asked.body.events_url).toMatch(new RegExp(`^/bamboo/api/v1/sessions/${id}/events\\?after=\\d+$`));

    const stream = new EventLog(`${base.replace('/bamboo', '')}${asked.body.events_url}`);
    // This EventSource sends no login header: the app's middleware refuses the stream too.
    await expect.poll(() => stream.errors).toBeGreaterThan(0);
    stream.es.close();

    const events = await fetch(`${base}/api/v1/sessions/${id}/events?after=0`, { headers: { ...asAda, accept: 'text/event-stream' } });
    expect(events.headers.get('content-type')).toContain('text/event-stream');
    const reader = events.body!.getReader();
    let seen = '';
    while (!seen.includes('question_asked')) seen += new TextDecoder().decode((await reader.read()).value);
    const waiting = (await (await fetch(`${base}/api/v1/sessions/${id}`, { headers: asAda })).json()) as { session: { pending_question: { id: string } } };
    const answered = await post(`${base}/api/v1/sessions/${id}/respond`, { question_id: waiting.session.pending_question.id, answer: 'red' });
    expect(answered.status).toBe(202);
    while (!seen.includes('run_completed')) seen += new TextDecoder().decode((await reader.read()).value);
    await reader.cancel();

    const session = (await (await fetch(`${base}/api/v1/sessions/${id}`, { headers: asAda })).json()) as { session: { state: string } };
    expect(session.session.state).toBe('completed');
  });

  it('serves the console and the OpenAPI document under the mount', async () => {
    const { base } = await embed();
    const page = await fetch(`${base}/`, { headers: asAda });
    expect(page.status).toBe(200);
    expect(page.headers.get('content-type')).toContain('text/html');
    // The console's requests are relative, so they stay under the mount.
    expect(await page.text()).not.toMatch(/(src|href)="\/(?!\/)/);
    const document = (await (await fetch(`${base}/api/v1/openapi.json`, { headers: asAda })).json()) as { servers: unknown };
    expect(document.servers).toEqual([{ url: '/bamboo' }]);
    // Without the trailing slash, the relative links would leave the mount: the page is moved to the slashed URL.
    const bare = await fetch(`${base}?key=1`, { headers: asAda, redirect: 'manual' });
    expect(bare.status).toBe(301);
    expect(bare.headers.get('location')).toBe('/bamboo/?key=1');
  });

  it('opens no port of its own', async () => {
    const listening = () => process.getActiveResourcesInfo().filter((kind) => kind === 'TCPServerWrap').length;
    const before = listening();
    await embed();
    // The app's server is the one new listening socket.
    expect(listening()).toBe(before + 1);
  });
});
