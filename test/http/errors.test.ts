/** Every error code of docs/API.md, provoked through a real server, with its exact status and envelope. */
import { afterEach, describe, expect, it } from 'vitest';
import type { SessionState } from '../../src/domain/types.js';
import { SqliteStore } from '../../src/storage/sqlite/sqlite-store.js';
import type { Page, SessionRow } from '../../src/storage/store.js';
import { API, cleanup, createSession, expectError, getSession, startServer, tempDb, waitForState } from './helpers.js';

afterEach(cleanup);

describe('error codes', () => {
  it('invalid_request: bad JSON, wrong types, unknown fields, out-of-range limit, bad Last-Event-ID and after, bad Idempotency-Key', async () => {
    const server = await startServer();
    const session = await createSession(server);
    const json = { 'Content-Type': 'application/json' };

    expectError(await server.call('POST', `${API}/sessions`, { raw: '{"title": ', headers: json }), 400, 'invalid_request');
    const wrongType = await server.call('POST', `${API}/sessions`, { json: { title: 42 } });
    expectError(wrongType, 400, 'invalid_request');
    expect(wrongType.body.error.message).toContain('title');
    const unknown = await server.call('POST', `${API}/sessions`, { json: { titel: 'typo' } });
    expectError(unknown, 400, 'invalid_request');
    expect(unknown.body.error.message).toContain('titel');
    expectError(await server.call('POST', `${API}/sessions`, { json: { agent: 'no-such-agent' } }), 400, 'invalid_request');
    expectError(await server.call('GET', `${API}/sessions?limit=500`), 400, 'invalid_request');
    expectError(await server.call('GET', `${API}/sessions/${session.id}/messages?limit=1001`), 400, 'invalid_request');
    expectError(await server.call('GET', `${API}/sessions/${session.id}/events?limit=0`), 400, 'invalid_request');
    expectError(await server.call('GET', `${API}/sessions/${session.id}/events?after=-3`), 400, 'invalid_request');
    const badHeader = await server.call('GET', `${API}/sessions/${session.id}/events`, { headers: { Accept: 'text/event-stream', 'Last-Event-ID': 'abc' } });
    expectError(badHeader, 400, 'invalid_request');
    expect(badHeader.body.error.message).toContain('Last-Event-ID');
    expectError(await server.call('GET', `${API}/sessions/${session.id}/events?after=1.5`, { headers: { Accept: 'text/event-stream' } }), 400, 'invalid_request');
    const longKey = await server.call('POST', `${API}/sessions`, { json: {}, headers: { 'Idempotency-Key': 'k'.repeat(256) } });
    expectError(longKey, 400, 'invalid_request');
    expect(longKey.body.error.message).toContain('Idempotency-Key');
    expectError(await server.call('POST', `${API}/sessions`, { json: {}, headers: { 'Idempotency-Key': '' } }), 400, 'invalid_request');
    // 255 characters is still a valid key.
    expect((await server.call('POST', `${API}/sessions`, { json: {}, headers: { 'Idempotency-Key': 'k'.repeat(255) } })).status).toBe(201);
  });

  it('payload_too_large, unsupported_media_type, not_found, method_not_allowed', async () => {
    const server = await startServer();
    const session = await createSession(server);

    const huge = JSON.stringify({ content: 'x'.repeat(1024 * 1024) });
    expectError(await server.call('POST', `${API}/sessions/${session.id}/messages`, { raw: huge, headers: { 'Content-Type': 'application/json' } }), 413, 'payload_too_large');
    expectError(await server.call('POST', `${API}/sessions`, { raw: 'title=x', headers: { 'Content-Type': 'application/x-www-form-urlencoded' } }), 415, 'unsupported_media_type');
    expectError(await server.call('POST', `${API}/sessions`, { raw: '{}', headers: { 'Content-Type': 'text/plain' } }), 415, 'unsupported_media_type');
    expectError(await server.call('GET', `${API}/no-such-route`), 404, 'not_found');
    expectError(await server.call('GET', '/nowhere'), 404, 'not_found');
    expectError(await server.call('POST', `${API}/sessions/${session.id}/rewind`), 404, 'not_found');

    const put = await server.call('PUT', `${API}/sessions`, { json: {} });
    expectError(put, 405, 'method_not_allowed');
    expect(put.headers.get('allow')).toBe('GET, POST');
    const del = await server.call('DELETE', `${API}/sessions/${session.id}/resume`);
    expectError(del, 405, 'method_not_allowed');
    expect(del.headers.get('allow')).toBe('POST');
    expectError(await server.call('PATCH', `${API}/sessions/${session.id}`, { json: {} }), 405, 'method_not_allowed');
    expectError(await server.call('POST', `${API}/sessions/${session.id}/events`), 405, 'method_not_allowed');
    expectError(await server.call('POST', '/healthz'), 405, 'method_not_allowed');
    // None of that touched the session.
    expect(await getSession(server, session.id)).toMatchObject({ version: session.version, last_event_seq: session.last_event_seq });
  });

  it('session_not_found on every session route', async () => {
    const server = await startServer();
    const missing = 'ses_doesnotexist';
    expectError(await server.call('GET', `${API}/sessions/${missing}`), 404, 'session_not_found');
    expectError(await server.call('DELETE', `${API}/sessions/${missing}`), 404, 'session_not_found');
    expectError(await server.call('GET', `${API}/sessions/${missing}/messages`), 404, 'session_not_found');
    expectError(await server.call('POST', `${API}/sessions/${missing}/messages`, { json: { content: 'hi' } }), 404, 'session_not_found');
    expectError(await server.call('POST', `${API}/sessions/${missing}/respond`, { json: { question_id: 'q_1', answer: 'a' } }), 404, 'session_not_found');
    expectError(await server.call('POST', `${API}/sessions/${missing}/cancel`), 404, 'session_not_found');
    expectError(await server.call('GET', `${API}/sessions/${missing}/events`), 404, 'session_not_found');
    expectError(await server.call('GET', `${API}/sessions/${missing}/events?after=0`, { headers: { Accept: 'text/event-stream' } }), 404, 'session_not_found');
    const resume = await server.call('POST', `${API}/sessions/${missing}/resume`);
    expectError(resume, 404, 'session_not_found');
    expect(resume.body.outcome).toBe('NotFound');
  });

  it('session_busy with run_id, question_pending with question_id, no_pending_question, question_mismatch, invalid_answer, not_running', async () => {
    const server = await startServer();
    const session = await createSession(server);

    expectError(await server.call('POST', `${API}/sessions/${session.id}/respond`, { json: { question_id: 'q_none', answer: 'a' } }), 409, 'no_pending_question');
    expectError(await server.call('POST', `${API}/sessions/${session.id}/cancel`), 409, 'not_running');

    const started = await server.call('POST', `${API}/sessions/${session.id}/messages`, { json: { content: '/sleep 5000' } });
    expect(started.status).toBe(202);
    const busy = await server.call('POST', `${API}/sessions/${session.id}/messages`, { json: { content: 'me too' } });
    expectError(busy, 409, 'session_busy', { run_id: started.body.run_id });
    // A run is active, no question is open.
    expectError(await server.call('POST', `${API}/sessions/${session.id}/respond`, { json: { question_id: 'q_none', answer: 'a' } }), 409, 'no_pending_question');
    expect((await server.call('POST', `${API}/sessions/${session.id}/cancel`)).status).toBe(200);

    await server.call('POST', `${API}/sessions/${session.id}/messages`, { json: { content: '/ask Pick one | red | blue' } });
    const waiting = await waitForState(server, session.id, 'awaitingUser');
    const questionId: string = waiting.pending_question.id;
    expectError(await server.call('POST', `${API}/sessions/${session.id}/messages`, { json: { content: 'hello?' } }), 409, 'question_pending', { question_id: questionId });
    expectError(await server.call('POST', `${API}/sessions/${session.id}/respond`, { json: { question_id: 'q_other', answer: 'red' } }), 409, 'question_mismatch');
    const invalid = await server.call('POST', `${API}/sessions/${session.id}/respond`, { json: { question_id: questionId, answer: 'green' } });
    expectError(invalid, 400, 'invalid_answer');
    expectError(await server.call('POST', `${API}/sessions/${session.id}/cancel`), 409, 'not_running');
    // awaitingUser: resume has nothing to run until /respond.
    const resume = await server.call('POST', `${API}/sessions/${session.id}/resume`);
    expect(resume.status).toBe(200);
    expect(resume.body).toEqual({ outcome: 'Completed' });
    expect(await getSession(server, session.id)).toMatchObject({ state: 'awaitingUser', version: waiting.version, last_event_seq: waiting.last_event_seq });
  });

  it('idempotency_conflict: the same key with another body or another path', async () => {
    const server = await startServer();
    const key = { 'Idempotency-Key': 'conflict-key' };
    expect((await server.call('POST', `${API}/sessions`, { json: { title: 'a' }, headers: key })).status).toBe(201);
    expectError(await server.call('POST', `${API}/sessions`, { json: { title: 'b' }, headers: key }), 409, 'idempotency_conflict');
    const other = await createSession(server);
    expectError(await server.call('POST', `${API}/sessions/${other.id}/messages`, { json: { content: 'hi' }, headers: key }), 409, 'idempotency_conflict');
    expect(await getSession(server, other.id)).toMatchObject({ message_count: 0, version: other.version });
  });

  it('unavailable: /readyz answers 503 once storage is closed', async () => {
    const store = new SqliteStore(tempDb());
    const server = await startServer({ store });
    const ready = await server.call('GET', '/readyz');
    expect(ready.status).toBe(200);
    expect(ready.body).toEqual({ ok: true, instance: server.server.runtime.instanceId });

    await store.close();
    expectError(await server.call('GET', '/readyz'), 503, 'unavailable');
    // Liveness is not readiness: the process still answers.
    expect((await server.call('GET', '/healthz')).status).toBe(200);
  });

  it('internal: a failing store answers 500 without detail', async () => {
    class BrokenListStore extends SqliteStore {
      override async listSessions(_query: { limit: number; cursor?: string; state?: SessionState }): Promise<Page<SessionRow>> {
        throw new Error('disk on fire at /var/secret/path');
      }
    }
    const server = await startServer({ store: new BrokenListStore(tempDb()) });
    const reply = await server.call('GET', `${API}/sessions`);
    expectError(reply, 500, 'internal');
    expect(reply.text).not.toContain('secret');
    expect(reply.text).not.toMatch(/at .*\.ts/);
    expect((await server.call('GET', '/healthz')).status).toBe(200);
  });
});

describe('precedence', () => {
  it('a bad request wins over 404, and 404 over 409', async () => {
    const server = await startServer();
    const missing = 'ses_doesnotexist';
    const json = { 'Content-Type': 'application/json' };
    expectError(await server.call('POST', `${API}/sessions/${missing}/messages`, { raw: '{oops', headers: json }), 400, 'invalid_request');
    expectError(await server.call('POST', `${API}/sessions/${missing}/messages`, { json: { content: '' } }), 400, 'invalid_request');
    expectError(await server.call('POST', `${API}/sessions/${missing}/messages`, { json: { content: 'hi', extra: 1 } }), 400, 'invalid_request');
    expectError(await server.call('POST', `${API}/sessions/${missing}/respond`, { json: { question_id: 5 } }), 400, 'invalid_request');
    expectError(await server.call('POST', `${API}/sessions/${missing}/resume`, { json: { now: true } }), 400, 'invalid_request');
    expectError(await server.call('POST', `${API}/sessions/${missing}/cancel`, { json: [] }), 400, 'invalid_request');
    expectError(await server.call('GET', `${API}/sessions/${missing}/messages?limit=0`), 400, 'invalid_request');
    expectError(await server.call('GET', `${API}/sessions/${missing}/events?after=x`), 400, 'invalid_request');
    expectError(await server.call('POST', `${API}/sessions/${missing}/messages`, { raw: '{}', headers: { 'Content-Type': 'text/plain' } }), 415, 'unsupported_media_type');
    expectError(
      await server.call('POST', `${API}/sessions/${missing}/messages`, { raw: JSON.stringify({ content: 'x'.repeat(1024 * 1024) }), headers: json }),
      413,
      'payload_too_large',
    );
    expectError(await server.call('POST', `${API}/sessions/${missing}/messages`, { json: { content: 'hi' }, headers: { 'Idempotency-Key': '' } }), 400, 'invalid_request');

    // 404 over 409: an Idempotency-Key already used elsewhere does not hide that the session is missing.
    const key = { 'Idempotency-Key': 'used-once' };
    expect((await server.call('POST', `${API}/sessions`, { json: {}, headers: key })).status).toBe(201);
    const gone = await server.call('POST', `${API}/sessions/${missing}/messages`, { json: { content: 'hi' }, headers: key });
    expectError(gone, 404, 'session_not_found');
  });
});
