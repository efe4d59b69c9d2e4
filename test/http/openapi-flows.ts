/** Requests that show every answer the OpenAPI document lists, each held to it by a ResponseCheck. */
import { expect } from 'vitest';
import { SqliteStore } from '../../src/storage/sqlite/sqlite-store.js';
import { type ListQuery, type Page, type SessionRow, StorageUnavailable } from '../../src/storage/store.js';
import { API, type CallOptions, startServer, type TestServer, tempDb, waitForSession, waitForState } from './helpers.js';
import type { ResponseCheck } from './openapi-check.js';
import { FAST, waitForDeliveries } from '../webhooks/helpers.js';
import { newSecret, Receiver } from '../webhooks/receiver.js';

const HUGE = { raw: JSON.stringify({ content: 'x'.repeat(1024 * 1024) }), headers: { 'Content-Type': 'application/json' } };
const TEXT = { raw: '{}', headers: { 'Content-Type': 'text/plain' } };
/** `%E0%A4%A` is not valid percent-encoding. */
const BAD_ID = '%E0%A4%A';
const MISSING = 'ses_doesnotexist';

/** A session's life over HTTP: created, a question answered, a stored turn resumed, a run cancelled, a failure, pictures, deletion. */
export async function driveTurn(check: ResponseCheck, server: TestServer): Promise<void> {
  const c = (method: string, path: string, options?: CallOptions) => check.call(server, method, path, options);
  const create = { json: { title: 'demo', metadata: { team: 'docs' } }, headers: { 'Idempotency-Key': 'create-1' } };
  const created = await c('POST', `${API}/sessions`, create);
  expect((await c('POST', `${API}/sessions`, create)).headers.get('idempotent-replayed')).toBe('true');
  const id: string = created.body.session.id;
  const session = `${API}/sessions/${id}`;
  await check.stream(server, `${session}/events?after=0`);
  await check.stream(server, `${session}/events`, { 'Last-Event-ID': '1' });
  await c('GET', `${API}/sessions?limit=1&state=idle`);
  const etag = (await c('GET', session)).headers.get('etag')!;
  // fetch adds `Cache-Control: no-cache` to a request with If-None-Match unless it has a Cache-Control already; that would ask for a fresh copy.
  expect((await c('GET', session, { headers: { 'If-None-Match': etag, 'Cache-Control': 'max-age=0' } })).status).toBe(304);

  expect((await c('POST', `${session}/messages`, { json: { content: '/ask Pick a colour | red | blue' } })).status).toBe(202);
  const waiting = await waitForState(server, id, 'awaitingUser');
  expect((await c('POST', `${session}/resume`)).body).toEqual({ outcome: 'Completed' });
  const answer = { json: { question_id: waiting.pending_question.id, answer: 'red' } };
  expect((await c('POST', `${session}/respond`, { ...answer, headers: { 'Idempotency-Key': 'answer-1' } })).status).toBe(202);
  await waitForState(server, id, 'completed');
  expect((await c('POST', `${session}/respond`, answer)).body).toEqual({ replayed: true, outcome: 'Completed' });
  await c('GET', `${session}/messages?limit=2`);
  await c('GET', `${session}/events?after=0&limit=5`);

  expect((await c('POST', `${session}/messages`, { json: { content: '/sleep 10000', resume: false } })).status).toBe(201);
  expect((await c('POST', `${session}/resume`, { json: {} })).status).toBe(202);
  expect((await c('POST', `${session}/resume`)).body.outcome).toBe('AlreadyRunning');
  expect((await c('POST', `${session}/cancel`)).body.outcome).toBe('Cancelled');
  await c('POST', `${session}/messages`, { json: { content: '/fail on purpose' } });
  await waitForSession(server, id, (view) => view.last_run?.status === 'failed');
  await c('GET', session);

  for (const path of [`${session}/diagram.svg`, `${API}/machines/session`, `${API}/machines/session.svg?detail=compact`, `${API}/openapi.json`]) await c('GET', path);
  for (const path of ['/healthz', '/readyz', '/metrics']) await c('GET', path);
  expect((await c('DELETE', session)).status).toBe(204);
}

/** Every error code of every operation that a request can provoke. */
export async function driveErrors(check: ResponseCheck, server: TestServer): Promise<void> {
  const c = (method: string, path: string, options?: CallOptions) => check.call(server, method, path, options);
  const expectCode = async (code: string, method: string, path: string, options?: CallOptions) => {
    const reply = await c(method, path, options);
    expect(reply.body?.error?.code, `${method} ${path}`).toBe(code);
  };
  const sessions = `${API}/sessions`;
  const idle = (await c('POST', sessions, { json: {} })).body.session.id;
  const at = (path: string) => `${sessions}/${idle}${path}`;

  await expectCode('invalid_request', 'POST', sessions, { json: { titel: 'typo' } });
  await expectCode('idempotency_conflict', 'POST', sessions, { json: { title: 'other' }, headers: { 'Idempotency-Key': 'create-1' } });
  await expectCode('invalid_request', 'GET', `${sessions}?limit=0`);
  for (const [method, path] of [
    ['GET', ''],
    ['DELETE', ''],
    ['GET', '/diagram.svg'],
    ['GET', '/messages'],
    ['GET', '/events'],
  ]) {
    await expectCode('invalid_request', method, `${sessions}/${BAD_ID}${path}`);
    await expectCode('session_not_found', method, `${sessions}/${MISSING}${path}`);
  }
  await expectCode('invalid_request', 'GET', at('/messages?limit=0'));
  await expectCode('invalid_request', 'GET', at('/events?after=x'));

  // The operations with a body: a bad one, one too large, one not JSON, and a missing session.
  const bodies: [string, unknown][] = [
    ['', { title: 42 }],
    ['/messages', { content: '' }],
    ['/resume', { now: true }],
    ['/respond', { question_id: 5 }],
    ['/cancel', []],
  ];
  for (const [path, bad] of bodies) {
    const target = path ? at(path) : sessions;
    await expectCode('invalid_request', 'POST', target, { json: bad });
    await expectCode('payload_too_large', 'POST', target, HUGE);
    await expectCode('unsupported_media_type', 'POST', target, TEXT);
    if (path) await expectCode('session_not_found', 'POST', `${sessions}/${MISSING}${path}`, path === '/messages' ? { json: { content: 'hi' } } : path === '/respond' ? { json: { question_id: 'q_1', answer: 'a' } } : undefined);
  }
  const notFound = await c('POST', `${sessions}/${MISSING}/resume`);
  expect(notFound.body.outcome).toBe('NotFound');

  await expectCode('no_pending_question', 'POST', at('/respond'), { json: { question_id: 'q_none', answer: 'a' } });
  await expectCode('not_running', 'POST', at('/cancel'));
  await c('POST', at('/messages'), { json: { content: '/sleep 10000' } });
  await expectCode('session_busy', 'POST', at('/messages'), { json: { content: 'me too' } });
  // The queue: one message queued, one too many, one taken back, one that is not there.
  const queued = await c('POST', at('/messages'), { json: { content: 'later', multitask_strategy: 'enqueue' } });
  expect(queued.body).toMatchObject({ outcome: 'Queued', position: 1 });
  for (let i = 2; i <= 20; i++) await c('POST', at('/messages'), { json: { content: `later ${i}`, multitask_strategy: 'enqueue' } });
  await expectCode('queue_full', 'POST', at('/messages'), { json: { content: 'one too many', multitask_strategy: 'enqueue' } });
  expect((await c('DELETE', at(`/queue/${queued.body.message.id}`))).status).toBe(204);
  await expectCode('queued_message_not_found', 'DELETE', at(`/queue/${queued.body.message.id}`));
  await expectCode('invalid_request', 'DELETE', `${sessions}/${BAD_ID}/queue/msg_x`);
  await expectCode('session_not_found', 'DELETE', `${sessions}/${MISSING}/queue/msg_x`);
  // Once the run is cancelled, the queue runs, message after message.
  await c('POST', at('/cancel'));
  await waitForSession(server, idle, (session) => session.state === 'completed' && session.queued.length === 0);
  await c('POST', at('/messages'), { json: { content: '/ask Pick one | a | b' } });
  const waiting = await waitForState(server, idle, 'awaitingUser');
  await expectCode('question_pending', 'POST', at('/messages'), { json: { content: 'hello?' } });
  await expectCode('question_mismatch', 'POST', at('/respond'), { json: { question_id: 'q_other', answer: 'a' } });
  await expectCode('invalid_answer', 'POST', at('/respond'), { json: { question_id: waiting.pending_question.id, answer: 'c' } });
  await expectCode('idempotency_conflict', 'POST', at('/messages'), { json: { content: 'x' }, headers: { 'Idempotency-Key': 'create-1' } });
  await expectCode('idempotency_conflict', 'POST', at('/respond'), { json: { question_id: 'q', answer: 'x' }, headers: { 'Idempotency-Key': 'create-1' } });

  // Answers no operation owns.
  check.general(await server.call('GET', `${API}/no-such-route`), 404, 'not_found');
  const put = await server.call('PUT', sessions, { json: {} });
  check.general(put, 405, 'method_not_allowed');
  expect(put.headers.get('allow')).toBe('GET, POST');
}

/** Webhook deliveries: a failure listed, retried, retried again; every error of both operations. */
export async function driveWebhooks(check: ResponseCheck): Promise<void> {
  const secret = newSecret();
  const hooks = await Receiver.start({ secret, answer: () => 500 });
  try {
    const dbPath = tempDb();
    const server = await startServer({ dbPath, webhooks: { urls: [hooks.url], secret, ...FAST, retryWindowMs: 100 } });
    const c = (method: string, path: string, options?: CallOptions) => check.call(server, method, path, options);
    const expectCode = async (code: string, method: string, path: string, options?: CallOptions) => {
      const reply = await c(method, path, options);
      expect(reply.body?.error?.code, `${method} ${path}`).toBe(code);
    };
    const { id } = (await server.call('POST', `${API}/sessions`, { json: { metadata: { team: 'docs' } } })).body.session;
    await server.call('POST', `${API}/sessions/${id}/messages`, { json: { content: '/ask Pick one | a | b' } });
    const [failed] = await waitForDeliveries(server, 'failed', (found) => found.length === 1);
    await c('GET', `${API}/webhooks/deliveries?status=failed&limit=10`);
    await expectCode('invalid_request', 'GET', `${API}/webhooks/deliveries?status=lost`);

    const retry = `${API}/webhooks/deliveries/${failed.id}/retry`;
    for (const [bad, code] of [[{ json: { now: true } }, 'invalid_request'], [HUGE, 'payload_too_large'], [TEXT, 'unsupported_media_type']] as const) {
      await expectCode(code, 'POST', retry, bad);
    }
    expect((await c('POST', retry)).status).toBe(202);
    await expectCode('delivery_not_failed', 'POST', retry);
    await expectCode('delivery_not_found', 'POST', `${API}/webhooks/deliveries/dlv_missing/retry`);
    await expectCode('invalid_request', 'POST', `${API}/webhooks/deliveries/${BAD_ID}/retry`);
    await c('GET', `${API}/webhooks/deliveries/${failed.id}`);
    await expectCode('delivery_not_found', 'GET', `${API}/webhooks/deliveries/dlv_missing`);
    // Failed again, then read by a server that sends no webhooks: a retry is refused.
    await waitForDeliveries(server, 'failed', (found) => found.length === 1);
    await server.close();
    const off = await startServer({ dbPath });
    const refused = await check.call(off, 'POST', retry);
    expect(refused.body?.error?.code).toBe('webhooks_disabled');
  } finally {
    await hooks.close();
  }
}

/** Storage that fails on demand: unreachable, full, or with an unexpected error. */
class FailingStore extends SqliteStore {
  failure: Error | null = null;

  override async createSession(...args: Parameters<SqliteStore['createSession']>): Promise<void> {
    if (this.failure) throw this.failure;
    return super.createSession(...args);
  }

  override async listSessions(query: ListQuery): Promise<Page<SessionRow>> {
    if (this.failure) throw this.failure;
    return super.listSessions(query);
  }

  override async ping(): Promise<void> {
    if (this.failure) throw this.failure;
    return super.ping();
  }
}

/** 503 and 507 with Retry-After, and 500 without detail. */
export async function driveStorageFailures(check: ResponseCheck): Promise<void> {
  const store = new FailingStore(tempDb());
  const server = await startServer({ store });
  const c = (method: string, path: string, options?: CallOptions) => check.call(server, method, path, options);

  store.failure = new StorageUnavailable('unreachable', 'connection refused');
  const unreachable = await c('GET', `${API}/sessions`);
  expect([unreachable.status, unreachable.headers.get('retry-after')]).toEqual([503, '5']);
  expect((await c('GET', '/readyz')).body.error).toMatchObject({ code: 'unavailable', instance: server.server.runtime.instanceId });

  store.failure = new StorageUnavailable('full', 'disk full');
  const full = await c('POST', `${API}/sessions`, { json: {} });
  expect([full.status, full.headers.get('retry-after')]).toEqual([507, '5']);

  store.failure = new Error('disk on fire');
  const crash = await c('GET', `${API}/sessions`);
  expect(crash.status).toBe(500);
  expect(crash.text).not.toContain('fire');
  store.failure = null;
}
