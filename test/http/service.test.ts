/** Service endpoints, listing and paging, and the ETag of a session. */
import { afterEach, describe, expect, it } from 'vitest';
import { READY_TIMEOUT_MS } from '../../src/http/routes/service.js';
import { SqliteStore } from '../../src/storage/sqlite/sqlite-store.js';
import { API, cleanup, createSession, getSession, startServer, waitForState } from './helpers.js';

afterEach(cleanup);

/** A database that froze: a ping never returns. */
class FrozenPingStore extends SqliteStore {
  frozen = false;
  override ping(options?: { write?: boolean }): Promise<void> {
    return this.frozen ? new Promise(() => undefined) : super.ping(options);
  }
}

/** The value of one Prometheus sample, or undefined when the series is absent. */
function sample(text: string, series: string): number | undefined {
  const line = text.split('\n').find((l) => l.startsWith(`${series} `));
  return line === undefined ? undefined : Number(line.slice(series.length + 1));
}

describe('service endpoints', () => {
  it('GET /healthz and /readyz', async () => {
    const server = await startServer();
    const health = await server.call('GET', '/healthz');
    expect(health.status).toBe(200);
    expect(health.body).toEqual({ ok: true });
    const ready = await server.call('GET', '/readyz');
    expect(ready.status).toBe(200);
    expect(ready.body).toEqual({ ok: true, instance: server.server.runtime.instanceId });
  });

  it('GET /readyz answers 503 in about two seconds when storage does not answer at all', async () => {
    const store = new FrozenPingStore(':memory:');
    const server = await startServer({ store });
    store.frozen = true;
    const asked = Date.now();
    const ready = await server.call('GET', '/readyz');
    expect(ready.status).toBe(503);
    expect(ready.body.error).toMatchObject({ code: 'unavailable' });
    expect(Date.now() - asked).toBeGreaterThanOrEqual(READY_TIMEOUT_MS - 50);
    store.frozen = false;
    expect((await server.call('GET', '/readyz')).status).toBe(200);
  });

  it('GET /metrics: sessions by state, runs started and ended, request durations, event-log appends', async () => {
    const server = await startServer();
    const before = await server.call('GET', '/metrics');
    expect(before.status).toBe(200);
    expect(before.headers.get('content-type')).toMatch(/^text\/plain/);
    expect(sample(before.text, 'bamboo_runs_started_total')).toBe(0);
    expect(sample(before.text, 'bamboo_event_log_appends_total')).toBe(0);

    const a = await createSession(server);
    const b = await createSession(server);
    await createSession(server);
    await server.call('POST', `${API}/sessions/${a.id}/messages`, { json: { content: 'hello' } });
    await waitForState(server, a.id, 'completed');
    await server.call('POST', `${API}/sessions/${b.id}/messages`, { json: { content: '/fail boom' } });
    await waitForState(server, b.id, 'idle');

    const after = await server.call('GET', '/metrics');
    const text = after.text;
    expect(text).toContain('# TYPE bamboo_sessions gauge');
    expect(sample(text, 'bamboo_sessions{state="completed"}')).toBe(1);
    expect(sample(text, 'bamboo_sessions{state="idle"}')).toBe(2);
    expect(sample(text, 'bamboo_sessions{state="running"}')).toBe(0);
    expect(sample(text, 'bamboo_sessions{state="awaitingUser"}')).toBe(0);
    expect(sample(text, 'bamboo_runs_started_total')).toBe(2);
    expect(sample(text, 'bamboo_runs_ended_total{status="completed"}')).toBe(1);
    expect(sample(text, 'bamboo_runs_ended_total{status="failed"}')).toBe(1);
    // Three session_created, and the two runs' events.
    expect(sample(text, 'bamboo_event_log_appends_total')).toBeGreaterThan(10);
    expect(text).toContain('# TYPE bamboo_http_request_duration_seconds histogram');
    expect(text).toMatch(/^bamboo_http_request_duration_seconds_count\{method="POST",route="\/api\/v1\/sessions",status="201"\} 3$/m);
    // Routes are labelled by pattern, never by id.
    expect(text).toMatch(/route="\/api\/v1\/sessions\/:id\/messages"/);
    expect(text).not.toContain(a.id);
  });

  it('labels failed requests with the same route pattern as successful ones', async () => {
    const server = await startServer();
    const session = await createSession(server);
    expect((await server.call('GET', `${API}/sessions/${session.id}`)).status).toBe(200);
    expect((await server.call('GET', `${API}/sessions/ses_missing`)).status).toBe(404);
    expect((await server.call('POST', `${API}/sessions`, { json: { nope: 1 } })).status).toBe(400);
    expect((await server.call('PUT', `${API}/sessions`)).status).toBe(405);
    const text = (await server.call('GET', '/metrics')).text;
    const count = (route: string, method: string, status: number) =>
      sample(text, `bamboo_http_request_duration_seconds_count{method="${method}",route="${route}",status="${status}"}`);
    expect(count('/api/v1/sessions/:id', 'GET', 200)).toBe(1);
    expect(count('/api/v1/sessions/:id', 'GET', 404)).toBe(1);
    expect(count('/api/v1/sessions', 'POST', 400)).toBe(1);
    expect(count('/api/v1/sessions', 'PUT', 405)).toBe(1);
    expect(text).not.toMatch(/route="\/sessions/);
  });

  it('labels a route by its pattern whatever the case of the path it was asked by, so clients cannot multiply the series', async () => {
    const server = await startServer();
    for (const path of ['/api/v1/sessions', '/API/v1/sessions', '/Api/V1/sessions', '/langgraph/assistants/demo', '/LangGraph/assistants/demo', '/LANGGRAPH/assistants/demo']) {
      expect((await server.call('GET', path)).status, path).toBe(200);
    }
    const text = (await server.call('GET', '/metrics')).text;
    const count = (route: string) => sample(text, `bamboo_http_request_duration_seconds_count{method="GET",route="${route}",status="200"}`);
    expect(count('/api/v1/sessions')).toBe(3);
    expect(count('/langgraph/assistants/:id')).toBe(3);
    expect(text).not.toMatch(/route="[^"]*[A-Z][^"]*"/);
  });
});

describe('listing sessions', () => {
  it('pages newest first with next_cursor, and filters by state', async () => {
    const server = await startServer();
    const created: string[] = [];
    for (let i = 0; i < 7; i++) created.push((await createSession(server, { title: `s${i}` })).id);
    await server.call('POST', `${API}/sessions/${created[1]}/messages`, { json: { content: 'hi' } });
    await server.call('POST', `${API}/sessions/${created[4]}/messages`, { json: { content: 'hi' } });
    await server.call('POST', `${API}/sessions/${created[5]}/messages`, { json: { content: '/ask Sure?' } });
    await waitForState(server, created[1], 'completed');
    await waitForState(server, created[4], 'completed');
    await waitForState(server, created[5], 'awaitingUser');

    const seen: string[] = [];
    let cursor: string | null = null;
    let pages = 0;
    do {
      const query: string = `limit=3${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`;
      const page = await server.call('GET', `${API}/sessions?${query}`);
      expect(page.status).toBe(200);
      expect(page.body.sessions.length).toBeLessThanOrEqual(3);
      seen.push(...page.body.sessions.map((s: { id: string }) => s.id));
      cursor = page.body.next_cursor;
      pages++;
    } while (cursor);
    expect(pages).toBe(3);
    expect(seen).toEqual([...created].reverse());

    const everything = await server.call('GET', `${API}/sessions`);
    expect(everything.body.next_cursor).toBeNull();
    expect(everything.body.sessions).toHaveLength(7);
    expect(everything.body.sessions[0]).toMatchObject({ id: created[6], title: 's6', state: 'idle', agent: 'demo' });

    const completed = await server.call('GET', `${API}/sessions?state=completed`);
    expect(completed.body.sessions.map((s: { id: string }) => s.id)).toEqual([created[4], created[1]]);
    const oneCompleted = await server.call('GET', `${API}/sessions?state=completed&limit=1`);
    expect(oneCompleted.body.sessions.map((s: { id: string }) => s.id)).toEqual([created[4]]);
    const nextCompleted = await server.call('GET', `${API}/sessions?state=completed&limit=1&cursor=${oneCompleted.body.next_cursor}`);
    expect(nextCompleted.body.sessions.map((s: { id: string }) => s.id)).toEqual([created[1]]);
    expect(nextCompleted.body.next_cursor).toBeNull();
    const waiting = await server.call('GET', `${API}/sessions?state=awaitingUser`);
    expect(waiting.body.sessions.map((s: { id: string; state: string }) => [s.id, s.state])).toEqual([[created[5], 'awaitingUser']]);
    expect((await server.call('GET', `${API}/sessions?state=idle`)).body.sessions).toHaveLength(4);
    expect((await server.call('GET', `${API}/sessions?state=running`)).body).toEqual({ sessions: [], next_cursor: null });
  });

  it('pages messages oldest first with next_cursor', async () => {
    const server = await startServer();
    const session = await createSession(server);
    for (let i = 0; i < 5; i++) {
      const reply = await server.call('POST', `${API}/sessions/${session.id}/messages`, { json: { content: `m${i}`, resume: false } });
      expect(reply.status).toBe(201);
    }
    const first = await server.call('GET', `${API}/sessions/${session.id}/messages?limit=2`);
    expect(first.body.messages.map((m: { content: string }) => m.content)).toEqual(['m0', 'm1']);
    expect(first.body.messages[0]).toMatchObject({ role: 'user' });
    expect(first.body.messages[0].id).toMatch(/^msg_/);
    expect(typeof first.body.next_cursor).toBe('string');
    const second = await server.call('GET', `${API}/sessions/${session.id}/messages?limit=2&after=${first.body.next_cursor}`);
    expect(second.body.messages.map((m: { content: string }) => m.content)).toEqual(['m2', 'm3']);
    const third = await server.call('GET', `${API}/sessions/${session.id}/messages?limit=2&after=${second.body.next_cursor}`);
    expect(third.body.messages.map((m: { content: string }) => m.content)).toEqual(['m4']);
    expect(third.body.next_cursor).toBeNull();
    const all = await server.call('GET', `${API}/sessions/${session.id}/messages`);
    expect(all.body.messages).toHaveLength(5);
    expect(all.body.next_cursor).toBeNull();
  });

  it('pages events with next_after', async () => {
    const server = await startServer();
    const session = await createSession(server);
    await server.call('POST', `${API}/sessions/${session.id}/messages`, { json: { content: 'one two three' } });
    const done = await waitForState(server, session.id, 'completed');
    const page1 = await server.call('GET', `${API}/sessions/${session.id}/events?limit=4`);
    expect(page1.body.events.map((e: { seq: number }) => e.seq)).toEqual([1, 2, 3, 4]);
    expect(page1.body.next_after).toBe(4);
    const rest = await server.call('GET', `${API}/sessions/${session.id}/events?after=4&limit=1000`);
    expect(rest.body.events[0].seq).toBe(5);
    expect(rest.body.next_after).toBe(done.last_event_seq);
    const past = await server.call('GET', `${API}/sessions/${session.id}/events?after=${done.last_event_seq}`);
    expect(past.body).toEqual({ events: [], next_after: done.last_event_seq });
  });
});

describe('the session object', () => {
  it('carries ETag "<version>", and the version moves with each change', async () => {
    const server = await startServer();
    const created = await createSession(server, { title: 't', metadata: { team: 'pandas' }, system_prompt: 'Be brief.' });
    expect(created).toMatchObject({ title: 't', metadata: { team: 'pandas' }, version: 1, message_count: 0, last_event_seq: 1, has_pending_work: false });
    const reply = await server.call('GET', `${API}/sessions/${created.id}`);
    expect(reply.headers.get('etag')).toBe(`"${reply.body.session.version}"`);

    await server.call('POST', `${API}/sessions/${created.id}/messages`, { json: { content: 'later', resume: false } });
    const again = await server.call('GET', `${API}/sessions/${created.id}`);
    expect(again.body.session.version).toBeGreaterThan(reply.body.session.version);
    expect(again.headers.get('etag')).toBe(`"${again.body.session.version}"`);
    expect(again.body.session).toMatchObject({ state: 'idle', has_pending_work: true, message_count: 1 });
  });

  it('POST /sessions answers 201 with a Location that reads the session back', async () => {
    const server = await startServer();
    const reply = await server.call('POST', `${API}/sessions`);
    expect(reply.status).toBe(201);
    const location = reply.headers.get('location');
    expect(location).toBe(`${API}/sessions/${reply.body.session.id}`);
    const read = await server.call('GET', location!);
    expect(read.body.session).toEqual(reply.body.session);
    expect(await getSession(server, reply.body.session.id)).toMatchObject({ agent: 'demo', title: null, metadata: {} });
  });
});
