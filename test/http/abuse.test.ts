/**
 * Bounded under abuse, through a real server: stream and connection caps
 * refuse with JSON before anything opens, slow streams share one buffer
 * budget, pages stop at a byte budget, and growth meets quotas.
 */
import { connect, type Socket } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { SqliteStore } from '../../src/storage/sqlite/sqlite-store.js';
import { API, cleanup, createSession, expectError, sleep, startServer, tempDb, type TestServer } from './helpers.js';
import { openStream } from './raw-http.js';

afterEach(cleanup);

const BIG = 'x'.repeat(97 * 1024);

async function appendQuietly(server: TestServer, id: string, content: string, count: number): Promise<void> {
  for (let i = 0; i < count; i++) {
    const reply = await server.call('POST', `${API}/sessions/${id}/messages`, { json: { content, resume: false } });
    expect(reply.status, reply.text).toBe(201);
  }
}

function openConnections(server: TestServer): Promise<number> {
  return new Promise((resolve, reject) => server.server.http.getConnections((error, count) => (error ? reject(error) : resolve(count))));
}

async function metric(server: TestServer, name: string): Promise<number> {
  const text = (await server.call('GET', '/metrics')).text;
  const line = text.split('\n').find((row) => row.startsWith(`${name} `) || row.startsWith(`${name}{`));
  return Number(line?.split(' ').at(-1));
}

describe('event stream caps', () => {
  it('per session, per client and in all: refused with JSON before the stream opens; /healthz still answers', async () => {
    const server = await startServer({ limits: { maxStreams: 12, maxStreamsPerSession: 5, maxStreamsPerClient: 8 } });
    const [a, b, c] = [await createSession(server), await createSession(server), await createSession(server)];
    const path = (id: string) => `${API}/sessions/${id}/events`;
    const open = [];
    for (let i = 0; i < 5; i++) open.push(await openStream(server.url, path(a.id)));
    expect(open.every((stream) => stream.status === 200)).toBe(true);
    const sixth = await server.call('GET', path(a.id), { headers: { Accept: 'text/event-stream' } });
    expectError(sixth, 429, 'too_many_streams', { scope: 'session', limit: 5 });
    for (let i = 0; i < 3; i++) open.push(await openStream(server.url, path(b.id)));
    expectError(await server.call('GET', path(c.id), { headers: { Accept: 'text/event-stream' } }), 429, 'too_many_streams', { scope: 'client', limit: 8 });
    expect((await server.call('GET', '/healthz')).status).toBe(200);
    expect(await metric(server, 'bamboo_event_streams')).toBe(8);
    for (const stream of open) stream.close();
    await sleep(50);
    expect(await metric(server, 'bamboo_event_streams')).toBe(0);
  });

  it('in all: past BAMBOO_MAX_STREAMS the server answers 503 unavailable', async () => {
    const server = await startServer({ limits: { maxStreams: 3 } });
    const session = await createSession(server);
    const open = await Promise.all([1, 2, 3].map(() => openStream(server.url, `${API}/sessions/${session.id}/events`)));
    const refused = await server.call('GET', `${API}/sessions/${session.id}/events`, { headers: { Accept: 'text/event-stream' } });
    expectError(refused, 503, 'unavailable', { limit: 3 });
    for (const stream of open) stream.close();
  });
});

describe('connections', () => {
  it('one client address cannot hold every connection: past its cap it is answered 503 and closed, others are served', async () => {
    const server = await startServer({ limits: { maxConnectionsPerClient: 20 } });
    const sockets: Socket[] = [];
    // Connections that never send a request, from another loopback address: a slow-header flood.
    for (let i = 0; i < 30; i++) {
      const socket = connect({ host: '127.0.0.1', port: server.server.port, localAddress: '127.0.0.2' });
      socket.on('error', () => undefined);
      sockets.push(socket);
    }
    const refused = await new Promise<string>((resolve) => {
      let text = '';
      const socket = connect({ host: '127.0.0.1', port: server.server.port, localAddress: '127.0.0.2' });
      socket.on('data', (chunk) => (text += chunk.toString()));
      socket.on('close', () => resolve(text));
      socket.on('error', () => resolve(text));
      sockets.push(socket);
    });
    expect(refused).toMatch(/^HTTP\/1\.1 503 /);
    expect(refused).toContain('"code":"unavailable"');
    expect((await server.call('GET', '/healthz')).status).toBe(200);
    for (const socket of sockets) socket.destroy();
  });

  it.each([
    ['headers over 16 KiB', `GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer ${'k'.repeat(60_000)}\r\n\r\n`, 431, 'headers_too_large'],
    ['a URL over 16 KiB', `GET /api/v1/sessions?x=${'y'.repeat(70_000)} HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n`, 431, 'headers_too_large'],
    ['both Content-Length and chunked', 'POST /api/v1/sessions HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n', 400, 'invalid_request'],
    ['bytes that are not HTTP', 'HELLO THERE\r\n\r\n', 400, 'invalid_request'],
    ['an Expect other than 100-continue', 'POST /api/v1/sessions HTTP/1.1\r\nHost: 127.0.0.1\r\nExpect: foo\r\nContent-Type: application/json\r\nContent-Length: 2\r\n\r\n{}', 400, 'invalid_request'],
    // Answered by the front door, which keeps the connection unless asked to close it.
    ['no Host in HTTP/1.1', 'POST /api/v1/sessions HTTP/1.1\r\nConnection: close\r\nContent-Type: application/json\r\nContent-Length: 2\r\n\r\n{}', 400, 'invalid_request'],
  ])('a request refused before any route (%s) is answered with a JSON error and closed; nothing is stored', async (_name, raw, status, code) => {
    const server = await startServer();
    // A client that never closes its side: the server must let go of the connection all the same.
    const socket = connect({ host: '127.0.0.1', port: server.server.port, allowHalfOpen: true });
    socket.on('error', () => undefined);
    let text = '';
    socket.on('data', (chunk) => (text += chunk.toString()));
    const ended = new Promise<void>((resolve) => socket.on('end', () => resolve()));
    socket.write(raw);
    await ended;
    await expect.poll(() => openConnections(server)).toBe(0);
    socket.destroy();
    expect(text).toMatch(new RegExp(`^HTTP/1\\.1 ${status} `));
    expect(text).toMatch(/\r\nContent-Type: application\/json; charset=utf-8\r\n/);
    expect(JSON.parse(text.slice(text.indexOf('\r\n\r\n') + 4))).toEqual({ error: { code, message: expect.any(String) } });
    expect((await server.call('GET', `${API}/sessions`)).body.sessions).toEqual([]);
    expect((await server.call('GET', '/healthz')).status).toBe(200);
  });

  it('a client that sends its headers a line at a time is answered 408 and closed once the 10 s for headers are up, not 30 s later', async () => {
    const server = await startServer();
    const socket = connect({ host: '127.0.0.1', port: server.server.port });
    socket.on('error', () => undefined);
    let text = '';
    socket.on('data', (chunk) => (text += chunk.toString()));
    const closed = new Promise<number>((resolve) => socket.on('close', () => resolve(Date.now())));
    const started = Date.now();
    socket.write('GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n');
    const trickle = setInterval(() => socket.writable && socket.write(`X-Slow-${Date.now()}: 1\r\n`), 2_000);
    const elapsed = (await closed) - started;
    clearInterval(trickle);
    expect(text).toMatch(/^HTTP\/1\.1 408 /);
    expect(JSON.parse(text.slice(text.indexOf('\r\n\r\n') + 4))).toMatchObject({ error: { code: 'request_timeout' } });
    // Node checks its timeouts every connectionsCheckingInterval: 30 s by default, which let this client stay about 20 s.
    expect(elapsed).toBeGreaterThanOrEqual(9_000);
    expect(elapsed).toBeLessThan(15_000);
  }, 30_000);
});

describe('slow streams', () => {
  it('share one buffer budget: when their buffers together pass it, the slowest are cut; streams that keep up go on', async () => {
    const budget = 6 * 1024 * 1024;
    const server = await startServer({ limits: { sseBufferedBytes: budget }, sseMaxBufferedBytes: 64 * 1024 * 1024 });
    const session = await createSession(server);
    const path = `${API}/sessions/${session.id}/events`;
    // Streams that never read what they are sent, and streams that do.
    const silent = await Promise.all(Array.from({ length: 20 }, () => openStream(server.url, path, {}, { read: false })));
    const reading = await Promise.all(Array.from({ length: 5 }, () => openStream(server.url, path)));
    expect(await metric(server, 'bamboo_event_streams')).toBe(25);
    // More than the kernel's socket buffers take: the rest waits in the server, against the budget.
    await appendQuietly(server, session.id, BIG, 150);
    await sleep(100);
    expect(await metric(server, 'bamboo_sse_buffered_bytes')).toBeLessThanOrEqual(budget);
    const open = await metric(server, 'bamboo_event_streams');
    expect(open).toBeLessThan(25);
    expect(open).toBeGreaterThanOrEqual(5);
    expect(reading.every((stream) => !stream.closed())).toBe(true);
    expect((await server.call('GET', '/healthz')).status).toBe(200);
    for (const stream of [...silent, ...reading]) stream.close();
  });

  it('count a frame shared by a session\'s streams once: many readers keeping up with large events are not cut', async () => {
    const budget = 2 * 1024 * 1024;
    const server = await startServer({ limits: { sseBufferedBytes: budget } });
    const session = await createSession(server);
    const path = `${API}/sessions/${session.id}/events`;
    // Together they are sent far more than the budget at once (100 × 97 KB a message), but each frame is one Buffer.
    const reading = await Promise.all(Array.from({ length: 100 }, () => openStream(server.url, path)));
    await appendQuietly(server, session.id, BIG, 10);
    await sleep(200);
    expect(reading.filter((stream) => stream.closed())).toHaveLength(0);
    expect(await metric(server, 'bamboo_event_streams')).toBe(100);
    for (const stream of reading) stream.close();
  });
});

describe('pages', () => {
  it('stop at the byte budget with a cursor to the rest, and are read from storage chunk by chunk', async () => {
    const dbPath = tempDb();
    const store = new SqliteStore(dbPath);
    let reads = 0;
    const counting = new Proxy(store, {
      get(target, property, receiver) {
        const value = Reflect.get(target, property, receiver) as unknown;
        if (property === 'readMessages' || property === 'readEvents') reads++;
        return typeof value === 'function' ? (value as (...args: unknown[]) => unknown).bind(target) : value;
      },
    });
    const server = await startServer({ store: counting, limits: { pageBytes: 1024 * 1024 } });
    const session = await createSession(server);
    await appendQuietly(server, session.id, BIG, 30);

    reads = 0;
    const first = await server.call('GET', `${API}/sessions/${session.id}/messages?limit=1000`);
    expect(first.status).toBe(200);
    expect(first.text.length).toBeLessThanOrEqual(1024 * 1024 + 100 * 1024);
    expect(first.body.messages.length).toBeGreaterThanOrEqual(9);
    expect(first.body.messages.length).toBeLessThan(30);
    expect(first.body.next_cursor).not.toBeNull();
    // A megabyte in chunks of 256 KiB: several reads, not one.
    expect(reads).toBeGreaterThanOrEqual(4);
    let count = first.body.messages.length;
    for (let cursor = first.body.next_cursor; cursor; ) {
      const page = await server.call('GET', `${API}/sessions/${session.id}/messages?limit=1000&after=${cursor}`);
      count += page.body.messages.length;
      cursor = page.body.next_cursor;
    }
    expect(count).toBe(30);

    const events = await server.call('GET', `${API}/sessions/${session.id}/events?after=0&limit=1000`);
    expect(events.text.length).toBeLessThanOrEqual(1024 * 1024 + 100 * 1024);
    expect(events.body.next_after).toBe(events.body.events.at(-1).seq);
    const rest = await server.call('GET', `${API}/sessions/${session.id}/events?after=${events.body.next_after}&limit=1000`);
    expect(rest.body.events[0].seq).toBe(events.body.next_after + 1);
    // One item always, however large.
    const one = await server.call('GET', `${API}/sessions/${session.id}/messages?limit=1`);
    expect(one.body.messages).toHaveLength(1);
  });

  it('count bytes as sent: text of three UTF-8 bytes a character stops the page by its bytes, not its characters', async () => {
    const server = await startServer({ limits: { pageBytes: 1024 * 1024 } });
    const session = await createSession(server);
    await appendQuietly(server, session.id, '中'.repeat(99_000), 15);
    const page = await server.call('GET', `${API}/sessions/${session.id}/messages?limit=1000`);
    const bytes = Buffer.byteLength(page.text);
    // Each message is about 297 KB: a megabyte holds four; counted in characters it held eleven (3 MB).
    expect(page.body.messages.length).toBeLessThanOrEqual(5);
    expect(bytes).toBeLessThan(2 * 1024 * 1024);
    expect(page.body.next_cursor).not.toBeNull();
  });
});

describe('pages not read', () => {
  it('are cut once the client has left a chunk untaken for the stall time; a client that reads gets the whole page', async () => {
    const server = await startServer({ limits: { pageBytes: 64 * 1024 * 1024, pageStallMs: 300 } });
    const session = await createSession(server);
    // More than the kernel's socket buffers take, so the server must wait for the client.
    await appendQuietly(server, session.id, BIG, 150);
    const path = `${API}/sessions/${session.id}/messages?limit=1000`;
    const whole = await server.call('GET', path);
    expect(whole.body.messages).toHaveLength(150);
    // A client that asks, then reads nothing for a while, then reads what is left: it gets a cut response, not the page.
    const { port } = new URL(server.url);
    const socket = connect(Number(port), '127.0.0.1');
    socket.write(`GET ${path} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n`);
    socket.pause();
    await sleep(1_500);
    let received = 0;
    socket.on('data', (chunk: Buffer) => (received += chunk.length));
    socket.resume();
    await new Promise((resolve) => socket.once('close', resolve));
    expect(received).toBeGreaterThan(0);
    expect(received).toBeLessThan(whole.text.length);
  }, 60_000);
});

describe('growth', () => {
  it('meets the quotas: sessions and bytes per tenant, with 429 quota_exceeded', async () => {
    const server = await startServer({ limits: { quotaSessions: 2, quotaBytes: 400 * 1024 } });
    const session = await createSession(server);
    await createSession(server);
    await sleep(1_100);
    expectError(await server.call('POST', `${API}/sessions`, { json: {} }), 429, 'quota_exceeded', { quota: 'sessions', limit: 2 });
    await appendQuietly(server, session.id, BIG, 4);
    await sleep(1_100);
    const over = await server.call('POST', `${API}/sessions/${session.id}/messages`, { json: { content: 'one more', resume: false } });
    expectError(over, 429, 'quota_exceeded', { quota: 'bytes' });
    // Deleting makes room again.
    expect((await server.call('DELETE', `${API}/sessions/${session.id}`)).status).toBe(204);
    await sleep(1_100);
    expect((await server.call('POST', `${API}/sessions`, { json: {} })).status).toBe(201);
  });

  it('refuses metadata nested deeper than 16 levels, however deep, with 400 (never a crash)', async () => {
    const server = await startServer();
    const deep = '['.repeat(200_000) + ']'.repeat(200_000);
    const reply = await server.call('POST', `${API}/sessions`, { raw: `{"metadata":{"a":${deep}}}`, headers: { 'Content-Type': 'application/json' } });
    expectError(reply, 400, 'invalid_request');
    expect(reply.body.error.message).toContain('metadata');
    const nested = (depth: number): unknown => (depth === 0 ? 1 : { a: nested(depth - 1) });
    expect((await server.call('POST', `${API}/sessions`, { json: { metadata: nested(15) } })).status).toBe(201);
    expectError(await server.call('POST', `${API}/sessions`, { json: { metadata: nested(17) } }), 400, 'invalid_request');
    expect((await server.call('GET', '/healthz')).status).toBe(200);
  });
});
