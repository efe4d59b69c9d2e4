/** Idempotency-Key: the first successful answer is kept and replayed, durably; anything else with the key conflicts. */
import { afterEach, describe, expect, it } from 'vitest';
import { SqliteStore } from '../../src/storage/sqlite/sqlite-store.js';
import type { SessionRow } from '../../src/storage/store.js';
import { API, allMessages, cleanup, createSession, expectError, getSession, sessionCount, sleep, startServer, tempDb } from './helpers.js';

afterEach(cleanup);

describe('Idempotency-Key', () => {
  it('POST /sessions twice in a row: the same answer, one session', async () => {
    const server = await startServer();
    const headers = { 'Idempotency-Key': 'create-1' };
    const first = await server.call('POST', `${API}/sessions`, { json: { title: 'once' }, headers });
    const second = await server.call('POST', `${API}/sessions`, { json: { title: 'once' }, headers });
    expect(first.status).toBe(201);
    expect(second.status).toBe(201);
    expect(second.text).toBe(first.text);
    expect(second.headers.get('idempotent-replayed')).toBe('true');
    expect(first.headers.get('idempotent-replayed')).toBeNull();
    expect(await sessionCount(server)).toBe(1);
    // Without a key, the same body makes another session.
    await createSession(server, { title: 'once' });
    expect(await sessionCount(server)).toBe(2);
  });

  it('20 concurrent POST /sessions with one key: one session, one answer', async () => {
    const server = await startServer();
    const replies = await Promise.all(
      Array.from({ length: 20 }, () => server.call('POST', `${API}/sessions`, { json: { title: 'burst' }, headers: { 'Idempotency-Key': 'create-burst' } })),
    );
    expect(replies.map((reply) => reply.status)).toEqual(Array(20).fill(201));
    expect(new Set(replies.map((reply) => reply.text)).size).toBe(1);
    expect(await sessionCount(server)).toBe(1);
  });

  it('20 concurrent POST …/messages with one key: one message, one run', async () => {
    const server = await startServer();
    const session = await createSession(server);
    const replies = await Promise.all(
      Array.from({ length: 20 }, () =>
        server.call('POST', `${API}/sessions/${session.id}/messages`, { json: { content: 'only once' }, headers: { 'Idempotency-Key': 'message-burst' } }),
      ),
    );
    expect(replies.map((reply) => reply.status)).toEqual(Array(20).fill(202));
    expect(new Set(replies.map((reply) => reply.text)).size).toBe(1);
    await expect.poll(async () => (await getSession(server, session.id)).state).toBe('completed');
    const messages = await allMessages(server, session.id);
    expect(messages.map((message: { role: string; content: string }) => `${message.role}:${message.content}`)).toEqual(['user:only once', 'assistant:Echo: only once']);
  });

  it('the same key with another body, or on another path, is a conflict that changes nothing', async () => {
    const server = await startServer();
    const session = await createSession(server);
    const headers = { 'Idempotency-Key': 'msg-1' };
    const first = await server.call('POST', `${API}/sessions/${session.id}/messages`, { json: { content: 'a', resume: false }, headers });
    expect(first.status).toBe(201);
    const before = await getSession(server, session.id);

    expectError(await server.call('POST', `${API}/sessions/${session.id}/messages`, { json: { content: 'b', resume: false }, headers }), 409, 'idempotency_conflict');
    // The same JSON value, other bytes: still another body.
    expectError(await server.call('POST', `${API}/sessions/${session.id}/messages`, { raw: '{ "content": "a", "resume": false }', headers: { ...headers, 'Content-Type': 'application/json' } }), 409, 'idempotency_conflict');
    const other = await createSession(server);
    expectError(await server.call('POST', `${API}/sessions/${other.id}/messages`, { json: { content: 'a', resume: false }, headers }), 409, 'idempotency_conflict');
    expectError(await server.call('POST', `${API}/sessions`, { json: {}, headers }), 409, 'idempotency_conflict');

    expect(await getSession(server, session.id)).toMatchObject({ version: before.version, message_count: 1, last_event_seq: before.last_event_seq });
    expect(await getSession(server, other.id)).toMatchObject({ message_count: 0 });
    expect(await sessionCount(server)).toBe(2);
  });

  it('keys are per key, not per body: two keys, two sessions', async () => {
    const server = await startServer();
    await server.call('POST', `${API}/sessions`, { json: {}, headers: { 'Idempotency-Key': 'a' } });
    await server.call('POST', `${API}/sessions`, { json: {}, headers: { 'Idempotency-Key': 'b' } });
    expect(await sessionCount(server)).toBe(2);
  });

  it('a failed first request is not kept: the key works once the request can succeed', async () => {
    const server = await startServer();
    const session = await createSession(server);
    const headers = { 'Idempotency-Key': 'retry-me' };
    const started = await server.call('POST', `${API}/sessions/${session.id}/messages`, { json: { content: '/sleep 5000' } });
    expect(started.status).toBe(202);

    const busy = await server.call('POST', `${API}/sessions/${session.id}/messages`, { json: { content: 'later', resume: false }, headers });
    expectError(busy, 409, 'session_busy');
    expect((await server.call('POST', `${API}/sessions/${session.id}/cancel`)).status).toBe(200);

    const retried = await server.call('POST', `${API}/sessions/${session.id}/messages`, { json: { content: 'later', resume: false }, headers });
    expect(retried.status, retried.text).toBe(201);
    const replayed = await server.call('POST', `${API}/sessions/${session.id}/messages`, { json: { content: 'later', resume: false }, headers });
    expect(replayed.status).toBe(201);
    expect(replayed.text).toBe(retried.text);
    expect((await allMessages(server, session.id)).map((message: { content: string }) => message.content)).toEqual(['/sleep 5000', 'later']);

    // A 400 is not kept either: the key is still free for a good request.
    const bad = await server.call('POST', `${API}/sessions`, { json: { title: 3 }, headers: { 'Idempotency-Key': 'fix-the-body' } });
    expectError(bad, 400, 'invalid_request');
    expect((await server.call('POST', `${API}/sessions`, { json: { title: 'three' }, headers: { 'Idempotency-Key': 'fix-the-body' } })).status).toBe(201);
  });

  it('duplicates that waited on a failed first request still do the work once', async () => {
    // A store that is slow to load one missing session, so the failing request holds its key a while.
    let loading!: () => void;
    const failingHoldsKey = new Promise<void>((resolve) => (loading = resolve));
    class SlowMissStore extends SqliteStore {
      override async loadSession(id: string): Promise<SessionRow | null> {
        if (id === 'ses_slow_missing') {
          loading();
          await sleep(300);
        }
        return super.loadSession(id);
      }
    }
    const server = await startServer({ store: new SlowMissStore(tempDb()) });
    const session = await createSession(server);
    const headers = { 'Idempotency-Key': 'shared' };

    const failing = server.call('POST', `${API}/sessions/ses_slow_missing/messages`, { json: { content: 'x', resume: false }, headers });
    // The duplicates arrive while the failing request is in its handler, past the key check.
    await failingHoldsKey;
    const duplicates = Array.from({ length: 5 }, () =>
      server.call('POST', `${API}/sessions/${session.id}/messages`, { json: { content: 'once', resume: false }, headers }),
    );
    expectError(await failing, 404, 'session_not_found');
    const replies = await Promise.all(duplicates);
    expect(replies.map((reply) => reply.status)).toEqual(Array(5).fill(201));
    expect(new Set(replies.map((reply) => reply.text)).size).toBe(1);
    expect((await allMessages(server, session.id)).map((message: { content: string }) => message.content)).toEqual(['once']);
  });

  it('POST …/respond with a key replays the first answer, not a replay outcome', async () => {
    const server = await startServer();
    const session = await createSession(server);
    await server.call('POST', `${API}/sessions/${session.id}/messages`, { json: { content: '/ask Pick one | red | blue' } });
    await expect.poll(async () => (await getSession(server, session.id)).state).toBe('awaitingUser');
    const questionId: string = (await getSession(server, session.id)).pending_question.id;
    const headers = { 'Idempotency-Key': 'answer-1' };
    const first = await server.call('POST', `${API}/sessions/${session.id}/respond`, { json: { question_id: questionId, answer: 'blue' }, headers });
    expect(first.status).toBe(202);
    const again = await server.call('POST', `${API}/sessions/${session.id}/respond`, { json: { question_id: questionId, answer: 'blue' }, headers });
    expect(again.status).toBe(202);
    expect(again.text).toBe(first.text);
    await expect.poll(async () => (await getSession(server, session.id)).state).toBe('completed');
    expect((await allMessages(server, session.id)).filter((message: { role: string }) => message.role === 'tool')).toHaveLength(1);
  });

  it('records survive a restart on the same database', async () => {
    const dbPath = tempDb();
    const first = await startServer({ dbPath });
    const headers = { 'Idempotency-Key': 'durable' };
    const created = await first.call('POST', `${API}/sessions`, { json: { title: 'durable' }, headers });
    expect(created.status).toBe(201);
    const message = await first.call('POST', `${API}/sessions/${created.body.session.id}/messages`, { json: { content: 'hi', resume: false }, headers: { 'Idempotency-Key': 'durable-msg' } });
    expect(message.status).toBe(201);
    await first.close();

    const second = await startServer({ dbPath });
    const replayed = await second.call('POST', `${API}/sessions`, { json: { title: 'durable' }, headers });
    expect(replayed.status).toBe(201);
    expect(replayed.text).toBe(created.text);
    expect(replayed.headers.get('idempotent-replayed')).toBe('true');
    const replayedMessage = await second.call('POST', `${API}/sessions/${created.body.session.id}/messages`, {
      json: { content: 'hi', resume: false },
      headers: { 'Idempotency-Key': 'durable-msg' },
    });
    expect(replayedMessage.text).toBe(message.text);
    expectError(await second.call('POST', `${API}/sessions`, { json: { title: 'other' }, headers }), 409, 'idempotency_conflict');
    expect(await sessionCount(second)).toBe(1);
    expect(await allMessages(second, created.body.session.id)).toHaveLength(1);
  });
});
