/**
 * Who may do what, through a real server: API keys (configured and stored),
 * tenants that cannot see each other, and the per-tenant limits.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { generateKey } from '../../src/auth/keys.js';
import { SqliteStore } from '../../src/storage/sqlite/sqlite-store.js';
import { API, cleanup, expectError, sleep, startServer, tempDb, type Reply, type TestServer } from './helpers.js';
import { openStream } from './raw-http.js';

afterEach(cleanup);

const ACME = 'acme-key-0123456789abcdefghij';
const BETA = 'beta-key-0123456789abcdefghij';
const KEYS = [
  { tenant: 'acme', key: ACME },
  { tenant: 'beta', key: BETA },
];

const as = (key: string) => ({ Authorization: `Bearer ${key}` });

async function keyedServer(access: NonNullable<Parameters<typeof startServer>[0]>['access'] = {}): Promise<TestServer> {
  return startServer({ access: { apiKeys: KEYS, ...access } });
}

async function createAs(server: TestServer, key: string, body: Record<string, unknown> = {}): Promise<{ id: string }> {
  const reply = await server.call('POST', `${API}/sessions`, { json: body, headers: as(key) });
  expect(reply.status, reply.text).toBe(201);
  return reply.body.session;
}

function expectUnauthorized(reply: Reply): void {
  expectError(reply, 401, 'unauthorized');
  expect(reply.headers.get('www-authenticate')).toMatch(/^Bearer/);
}

describe('API keys', () => {
  it('with keys, every API route needs one: none or a wrong one is 401 with WWW-Authenticate; Bearer and x-api-key both work', async () => {
    const server = await keyedServer();
    const session = await createAs(server, ACME);
    const routes: [string, string][] = [
      ['GET', '/sessions'],
      ['POST', '/sessions'],
      ['GET', `/sessions/${session.id}`],
      ['DELETE', `/sessions/${session.id}`],
      ['GET', `/sessions/${session.id}/messages`],
      ['POST', `/sessions/${session.id}/messages`],
      ['GET', `/sessions/${session.id}/events`],
      ['POST', `/sessions/${session.id}/resume`],
      ['POST', `/sessions/${session.id}/respond`],
      ['POST', `/sessions/${session.id}/cancel`],
      ['GET', `/sessions/${session.id}/diagram.svg`],
      ['GET', '/machines/session'],
      ['GET', '/machines/session.svg'],
    ];
    for (const [method, path] of routes) {
      expectUnauthorized(await server.call(method, `${API}${path}`));
      expectUnauthorized(await server.call(method, `${API}${path}`, { headers: as('not-a-key-of-anyone-at-all-0000') }));
      expectUnauthorized(await server.call(method, `${API}${path}`, { headers: { Authorization: 'Basic abc' } }));
    }
    // A body is read only once the key is good: malformed JSON without a key is 401, on both APIs.
    const malformed = { raw: '{"content":', headers: { 'Content-Type': 'application/json' } };
    expectUnauthorized(await server.call('POST', `${API}/sessions/${session.id}/messages`, malformed));
    expect((await server.call('POST', '/langgraph/threads', malformed)).status).toBe(401);
    expect((await server.call('POST', `${API}/sessions/${session.id}/messages`, { ...malformed, headers: { ...malformed.headers, ...as(ACME) } })).status).toBe(400);
    const sse = await server.call('GET', `${API}/sessions/${session.id}/events`, { headers: { Accept: 'text/event-stream' } });
    expectUnauthorized(sse);
    expectUnauthorized(await server.call('GET', '/metrics'));

    expect((await server.call('GET', `${API}/sessions/${session.id}`, { headers: as(ACME) })).status).toBe(200);
    expect((await server.call('GET', `${API}/sessions/${session.id}`, { headers: { 'x-api-key': ACME } })).status).toBe(200);
    expect((await server.call('GET', '/metrics', { headers: as(BETA) })).status).toBe(200);
    // Liveness, readiness and the console stay open.
    for (const path of ['/healthz', '/readyz', '/']) expect((await server.call('GET', path)).status, path).toBe(200);
    // Nothing was changed by the refused calls.
    expect((await server.call('GET', `${API}/sessions/${session.id}`, { headers: as(ACME) })).body.session).toMatchObject({ version: 1, message_count: 0 });
  });

  it('stored keys work like configured ones, and a revoked key stops working', async () => {
    const dbPath = tempDb();
    const seed = new SqliteStore(dbPath);
    const key = generateKey();
    await seed.createApiKey({ id: key.id, tenant: 'gamma', name: 'ci', hash: key.hash, created_at: new Date().toISOString() });
    await seed.close();

    const server = await startServer({ dbPath });
    expectUnauthorized(await server.call('GET', `${API}/sessions`));
    const session = await createAs(server, key.key);
    expect((await server.call('GET', `${API}/sessions`, { headers: as(key.key) })).body.sessions.map((s: { id: string }) => s.id)).toEqual([session.id]);
    // The key's record holds its hash only.
    await server.close();
    const reader = new SqliteStore(dbPath);
    const [record] = await reader.listApiKeys();
    expect(record).toMatchObject({ id: key.id, tenant: 'gamma', name: 'ci', hash: key.hash, revoked_at: null });
    expect(JSON.stringify(await reader.listApiKeys())).not.toContain(key.key);
    expect(await reader.revokeApiKey(key.id, new Date().toISOString())).toBe(true);
    await reader.close();

    const again = await startServer({ dbPath });
    // With no active key left, the server is open again: the revoked key is simply not needed.
    expect((await again.call('GET', `${API}/sessions/${session.id}`)).status).toBe(404);
  });
});

describe('tenants', () => {
  it("another tenant's session does not exist: 404 on every route, NotFound on resume, absent from lists", async () => {
    const server = await keyedServer();
    const mine = await createAs(server, ACME, { title: 'acme only' });
    const started = await server.call('POST', `${API}/sessions/${mine.id}/messages`, { json: { content: '/ask Pick | red | blue' }, headers: as(ACME) });
    expect(started.status).toBe(202);
    await waitForState(server, ACME, mine.id, 'awaitingUser');
    const theirs = await createAs(server, BETA);

    const beta = as(BETA);
    const notFound = (reply: Reply) => expectError(reply, 404, 'session_not_found');
    notFound(await server.call('GET', `${API}/sessions/${mine.id}`, { headers: beta }));
    notFound(await server.call('GET', `${API}/sessions/${mine.id}/messages`, { headers: beta }));
    notFound(await server.call('GET', `${API}/sessions/${mine.id}/events`, { headers: beta }));
    notFound(await server.call('GET', `${API}/sessions/${mine.id}/events`, { headers: { ...beta, Accept: 'text/event-stream' } }));
    notFound(await server.call('GET', `${API}/sessions/${mine.id}/diagram.svg`, { headers: beta }));
    notFound(await server.call('POST', `${API}/sessions/${mine.id}/messages`, { json: { content: 'hi' }, headers: beta }));
    notFound(await server.call('POST', `${API}/sessions/${mine.id}/respond`, { json: { question_id: 'q_x', answer: 'red' }, headers: beta }));
    notFound(await server.call('POST', `${API}/sessions/${mine.id}/cancel`, { headers: beta }));
    notFound(await server.call('DELETE', `${API}/sessions/${mine.id}`, { headers: beta }));
    const resumed = await server.call('POST', `${API}/sessions/${mine.id}/resume`, { headers: beta });
    expect(resumed.status).toBe(404);
    expect(resumed.body.outcome).toBe('NotFound');

    const listed = (key: string) => server.call('GET', `${API}/sessions`, { headers: as(key) }).then((r) => r.body.sessions.map((s: { id: string }) => s.id));
    expect(await listed(BETA)).toEqual([theirs.id]);
    expect(await listed(ACME)).toEqual([mine.id]);
    // Untouched by the other tenant's attempts.
    expect(await waitForState(server, ACME, mine.id, 'awaitingUser')).toMatchObject({ message_count: 1 });
  });

  it('Idempotency-Keys are per tenant: the same key from two tenants is two requests', async () => {
    const server = await keyedServer();
    const headers = { 'Idempotency-Key': 'shared-key-1' };
    const first = await server.call('POST', `${API}/sessions`, { json: { title: 't' }, headers: { ...as(ACME), ...headers } });
    const second = await server.call('POST', `${API}/sessions`, { json: { title: 't' }, headers: { ...as(BETA), ...headers } });
    const replay = await server.call('POST', `${API}/sessions`, { json: { title: 't' }, headers: { ...as(ACME), ...headers } });
    expect([first.status, second.status, replay.status]).toEqual([201, 201, 201]);
    expect(second.body.session.id).not.toBe(first.body.session.id);
    expect(replay.body.session.id).toBe(first.body.session.id);
    expect(replay.headers.get('idempotent-replayed')).toBe('true');
  });
});

describe('per-tenant limits', () => {
  it('requests per minute: over the limit is 429 rate_limited with Retry-After and RateLimit headers, for that tenant only', async () => {
    const server = await keyedServer({ rateLimitPerMinute: 5 });
    const replies: Reply[] = [];
    for (let i = 0; i < 6; i++) replies.push(await server.call('GET', `${API}/sessions`, { headers: as(ACME) }));
    expect(replies.slice(0, 5).map((r) => r.status)).toEqual([200, 200, 200, 200, 200]);
    expect(replies[0]!.headers.get('ratelimit-limit')).toBe('5');
    expect(replies[4]!.headers.get('ratelimit-remaining')).toBe('0');
    expectError(replies[5]!, 429, 'rate_limited', { limit: 5 });
    // The metrics, which need a key, count too.
    expect((await server.call('GET', '/metrics', { headers: as(ACME) })).status).toBe(429);
    expect(Number(replies[5]!.headers.get('retry-after'))).toBeGreaterThan(0);
    expect(replies[5]!.headers.get('ratelimit-policy')).toBe('5;w=60');
    expect((await server.call('GET', `${API}/sessions`, { headers: as(BETA) })).status).toBe(200);
  });

  it('requests per minute count the native API and the LangGraph API together', async () => {
    const server = await keyedServer({ rateLimitPerMinute: 4 });
    for (let i = 0; i < 2; i++) expect((await server.call('GET', `${API}/sessions`, { headers: as(ACME) })).status).toBe(200);
    for (let i = 0; i < 2; i++) expect((await server.call('POST', '/langgraph/assistants/search', { json: {}, headers: as(ACME) })).status).toBe(200);
    expectError(await server.call('GET', `${API}/sessions`, { headers: as(ACME) }), 429, 'rate_limited', { limit: 4 });
    const langgraph = await server.call('POST', '/langgraph/assistants/search', { json: {}, headers: as(ACME) });
    expect(langgraph.status).toBe(429);
    expect(langgraph.headers.get('ratelimit-remaining')).toBe('0');
  });

  it('concurrent runs: a start over the limit is 429 too_many_runs and starts nothing; the other tenant still runs', async () => {
    const server = await keyedServer({ maxRunsPerTenant: 3 });
    const sessions = await Promise.all(Array.from({ length: 8 }, () => createAs(server, ACME)));
    const replies = await Promise.all(
      sessions.map((s) => server.call('POST', `${API}/sessions/${s.id}/messages`, { json: { content: '/sleep 2000' }, headers: as(ACME) })),
    );
    const started = replies.filter((r) => r.status === 202);
    const refused = replies.filter((r) => r.status === 429);
    expect(started).toHaveLength(3);
    expect(refused).toHaveLength(5);
    for (const reply of refused) {
      expectError(reply, 429, 'too_many_runs', { limit: 3 });
      expect(reply.headers.get('retry-after')).toBe('5');
    }
    // A refused message is not stored, and its session did not move.
    for (const [i, reply] of replies.entries()) {
      if (reply.status !== 429) continue;
      const view = (await server.call('GET', `${API}/sessions/${sessions[i]!.id}`, { headers: as(ACME) })).body.session;
      expect(view).toMatchObject({ state: 'idle', message_count: 0, last_run: null, version: 1 });
    }
    const other = await createAs(server, BETA);
    expect((await server.call('POST', `${API}/sessions/${other.id}/messages`, { json: { content: 'hello' }, headers: as(BETA) })).status).toBe(202);
    // Resume over the limit is refused too, and starts nothing.
    const idle = sessions[replies.findIndex((r) => r.status === 429)]!;
    await server.call('POST', `${API}/sessions/${idle.id}/messages`, { json: { content: 'later', resume: false }, headers: as(ACME) });
    expectError(await server.call('POST', `${API}/sessions/${idle.id}/resume`, { headers: as(ACME) }), 429, 'too_many_runs');
    expect((await server.call('GET', `${API}/sessions/${idle.id}`, { headers: as(ACME) })).body.session).toMatchObject({ state: 'idle', has_pending_work: true });
  });

  it('open streams: one over the tenant limit is 429 too_many_streams before it opens; closing one frees a place', async () => {
    const server = await keyedServer({ maxStreamsPerTenant: 2 });
    const session = await createAs(server, ACME);
    const path = `${API}/sessions/${session.id}/events`;
    const first = await openStream(server.url, path, as(ACME));
    const second = await openStream(server.url, path, as(ACME));
    expect([first.status, second.status]).toEqual([200, 200]);
    const third = await server.call('GET', path, { headers: { ...as(ACME), Accept: 'text/event-stream' } });
    expectError(third, 429, 'too_many_streams', { limit: 2 });
    expect(third.headers.get('retry-after')).toBe('5');
    const other = await createAs(server, BETA);
    const betaStream = await openStream(server.url, `${API}/sessions/${other.id}/events`, as(BETA));
    expect(betaStream.status).toBe(200);
    first.close();
    await sleep(50);
    const again = await openStream(server.url, path, as(ACME));
    expect(again.status).toBe(200);
    for (const stream of [second, betaStream, again]) stream.close();
  });

  it('with keys, the limits are on by default; without keys, off', async () => {
    const keyed = await keyedServer();
    const reply = await keyed.call('GET', `${API}/sessions`, { headers: as(ACME) });
    expect(reply.headers.get('ratelimit-limit')).toBe('6000');
    const open = await startServer();
    expect((await open.call('GET', `${API}/sessions`)).headers.get('ratelimit-limit')).toBeNull();
  });
});

async function waitForState(server: TestServer, key: string, id: string, state: string): Promise<Record<string, unknown>> {
  for (let i = 0; i < 500; i++) {
    const session = (await server.call('GET', `${API}/sessions/${id}`, { headers: as(key) })).body.session;
    if (session.state === state) return session;
    await sleep(10);
  }
  throw new Error(`session ${id} never reached ${state}`);
}
