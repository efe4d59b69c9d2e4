/**
 * Webhooks end to end: a real server, a receiver on 127.0.0.1 that verifies
 * each request with `standardwebhooks`, and retry times shrunk so a test takes
 * milliseconds where production takes hours.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { API, cleanup, createSession, startServer, tempDb, waitForSession, waitForState, type TestServer } from '../http/helpers.js';
import type { ServerOptions } from '../../src/server.js';
import { capture, closeReceivers, FAST, startReceiver as receiver, waitForDeliveries } from './helpers.js';
import { newSecret } from './receiver.js';

afterEach(async () => {
  await cleanup();
  await closeReceivers();
});

function withWebhooks(urls: string[], secret: string, tuning: Record<string, unknown> = {}, options: ServerOptions = {}): Promise<TestServer> {
  return startServer({ ...options, webhooks: { urls, secret, ...FAST, ...tuning } });
}

async function send(server: TestServer, id: string, content: string, extra: Record<string, unknown> = {}): Promise<void> {
  const reply = await server.call('POST', `${API}/sessions/${id}/messages`, { json: { content, ...extra } });
  expect(reply.status, reply.text).toBe(202);
}

describe('webhook delivery', () => {
  it('tells every run ending of a human-in-the-loop turn, signed, the first attempts failing, under one webhook-id per delivery', async () => {
    const secret = newSecret();
    const hooks = await receiver({ secret, failFirst: 2 });
    const db = tempDb();
    let server = await withWebhooks([`${hooks.url}/hooks?token=abc`], secret, {}, { dbPath: db });
    const session = await createSession(server, { metadata: { team: 'blue', ticket: 42 } });
    const id: string = session.id;

    await send(server, id, '/ask Pick a colour | red | blue');
    const waiting = await waitForState(server, id, 'awaitingUser');
    expect((await server.call('POST', `${API}/sessions/${id}/respond`, { json: { question_id: waiting.pending_question.id, answer: 'red' } })).status).toBe(202);
    await waitForState(server, id, 'completed');
    await send(server, id, '/fail on purpose');
    await waitForSession(server, id, (view) => view.last_run?.status === 'failed');
    await send(server, id, '/sleep 10000');
    expect((await server.call('POST', `${API}/sessions/${id}/cancel`)).status).toBe(200);
    // A run cut off by a shutdown is told after the restart.
    await send(server, id, '/sleep 10000');
    await waitForState(server, id, 'running');
    await server.close();
    server = await withWebhooks([`${hooks.url}/hooks?token=abc`], secret, {}, { dbPath: db });

    // At least once: a delivery cut off by the shutdown may arrive twice. Attempts run side by side, so they are sorted by the run's end.
    const delivered = () => [...new Map(hooks.delivered.map((request) => [request.id, request])).values()].sort((a, b) => a.body.timestamp.localeCompare(b.body.timestamp));
    await hooks.waitFor(() => delivered().length === 5);
    const bodies = delivered().map((request) => request.body);
    expect(bodies.map((body) => body.type)).toEqual(['run.awaiting_user', 'run.completed', 'run.failed', 'run.cancelled', 'run.interrupted']);
    // Every request verified (an unverified one would have been answered 401), and each delivery took three attempts under one id, with the same bytes.
    expect(hooks.requests.every((request) => request.body !== null && request.path === '/hooks?token=abc')).toBe(true);
    for (const { id: deliveryId } of delivered()) {
      const attempts = hooks.requests.filter((request) => request.id === deliveryId);
      expect(attempts.slice(0, 3).map((request) => [request.attempt, request.answered])).toEqual([[1, 500], [2, 500], [3, 204]]);
      expect(new Set(attempts.map((request) => request.payload)).size).toBe(1);
      expect(deliveryId).toMatch(/^dlv_/);
    }

    const events = (await server.call('GET', `${API}/sessions/${id}/events?limit=1000`)).body.events;
    const ends = events.filter((event: { type: string }) => ['question_asked', 'run_completed', 'run_failed', 'run_cancelled', 'run_interrupted'].includes(event.type));
    const [asked, completed, failed, cancelled, interrupted] = bodies;
    bodies.forEach((body, i) => {
      expect(body.data).toMatchObject({ session_id: id, run_id: ends[i].run_id, metadata: { team: 'blue', ticket: 42 } });
      expect(body.timestamp).toBe(ends[i].at);
      expect(body.data.last_run).toMatchObject({ id: ends[i].run_id, ended_at: ends[i].at });
    });
    expect(asked.data).toMatchObject({ state: 'awaitingUser', last_run: { status: 'awaiting_user' }, question: waiting.pending_question });
    expect(completed.data).toMatchObject({ state: 'completed', last_run: { status: 'completed' } });
    expect(completed.data.question).toBeUndefined();
    expect(failed.data).toMatchObject({ state: 'idle', last_run: { status: 'failed', error: 'on purpose' } });
    expect(cancelled.data).toMatchObject({ state: 'idle', last_run: { status: 'cancelled' } });
    expect(interrupted.data).toMatchObject({ state: 'idle', last_run: { status: 'interrupted' } });

    const listed = (await server.call('GET', `${API}/webhooks/deliveries?status=delivered`)).body.deliveries;
    expect(listed.map((delivery: { id: string }) => delivery.id)).toEqual(delivered().map((request) => request.id).reverse());
    expect(listed[0]).toMatchObject({ status: 'delivered', attempts: 3, last_error: 'HTTP 500', url: `${hooks.url}/hooks`, next_attempt_at: null, body: interrupted });

    // The second server delivered at least the interrupted run's, after two failed attempts.
    const metrics = (await server.call('GET', '/metrics')).text;
    expect(Number(/^bamboo_webhook_deliveries_total\{result="delivered"\} (\d+)$/m.exec(metrics)?.[1])).toBeGreaterThanOrEqual(1);
    expect(Number(/^bamboo_webhook_deliveries_total\{result="retried"\} (\d+)$/m.exec(metrics)?.[1])).toBeGreaterThanOrEqual(2);
    expect(metrics).toMatch(/^bamboo_webhook_deliveries_total\{result="failed"\} 0$/m);
    expect(metrics).toMatch(/^bamboo_webhook_queue_depth 0$/m);
  });

  it('tells each configured receiver, under its own webhook-id; a run cut off by a new message is told with the run it ended', async () => {
    const secret = newSecret();
    const [first, second] = [await receiver({ secret }), await receiver({ secret })];
    const server = await withWebhooks([first.url, second.url], secret);
    const { id } = await createSession(server);
    await send(server, id, '/sleep 10000');
    const running = await waitForState(server, id, 'running');
    await send(server, id, 'instead', { multitask_strategy: 'interrupt' });
    await waitForState(server, id, 'completed');

    for (const hooks of [first, second]) await hooks.waitFor(() => hooks.delivered.length === 2);
    const [cancelled, completed] = first.delivered.map((request) => request.body);
    expect(cancelled).toMatchObject({ type: 'run.cancelled', data: { run_id: running.run_id, state: 'running', last_run: { id: running.run_id, status: 'cancelled', started_at: running.last_run.started_at } } });
    expect(completed).toMatchObject({ type: 'run.completed', data: { state: 'completed' } });
    expect(second.delivered.map((request) => request.payload)).toEqual(first.delivered.map((request) => request.payload));
    const ids = [...first.delivered, ...second.delivered].map((request) => request.id);
    expect(new Set(ids).size).toBe(4);
  });

  it('a receiver that never answers slows no run and no request, and shutdown does not wait for it', async () => {
    const secret = newSecret();
    const hanging = await receiver({ secret, answer: () => 'hang' });
    const server = await withWebhooks([hanging.url], secret, { timeoutMs: 60_000, concurrency: 2 });
    const { id } = await createSession(server);
    const started = Date.now();
    for (let turn = 0; turn < 10; turn++) {
      await send(server, id, `turn ${turn}`);
      await waitForSession(server, id, (view) => view.state === 'completed' && view.message_count === 2 * (turn + 1));
    }
    const elapsed = Date.now() - started;
    // The receiver holds two attempts open the whole time; ten runs still finish as fast as without it.
    await hanging.waitFor((requests) => requests.length === 2);
    expect(elapsed).toBeLessThan(3_000);
    const pending = (await server.call('GET', `${API}/webhooks/deliveries?status=pending&limit=200`)).body.deliveries;
    expect(pending).toHaveLength(10);
    expect((await server.call('GET', '/metrics')).text).toMatch(/^bamboo_webhook_queue_depth 10$/m);

    const closing = Date.now();
    await server.close();
    expect(Date.now() - closing).toBeLessThan(2_000);
  });

  it('gives up after the retry window, lists the failure, and sends it again on request, under the same webhook-id', async () => {
    const secret = newSecret();
    const hooks = await receiver({ secret, answer: () => 503 });
    const server = await withWebhooks([hooks.url], secret, { retryWindowMs: 300 });
    const { id } = await createSession(server);
    await send(server, id, 'hello');

    const failed = await waitForDeliveries(server, 'failed', (found) => found.length === 1);
    expect(failed[0]).toMatchObject({ status: 'failed', type: 'run.completed', session_id: id, last_error: 'HTTP 503', next_attempt_at: null });
    expect(failed[0].attempts).toBeGreaterThanOrEqual(2);
    expect(failed[0].finished_at).not.toBeNull();
    expect((await server.call('GET', '/metrics')).text).toMatch(/^bamboo_webhook_deliveries_total\{result="failed"\} 1$/m);
    const attemptsBefore = hooks.requests.length;

    hooks.options.answer = () => 200;
    const retried = await server.call('POST', `${API}/webhooks/deliveries/${failed[0].id}/retry`);
    expect(retried.status, retried.text).toBe(202);
    expect(retried.body.delivery).toMatchObject({ id: failed[0].id, status: 'pending', attempts: 0, finished_at: null });
    await hooks.waitFor(() => hooks.delivered.length === 1);
    expect(hooks.delivered[0].id).toBe(failed[0].id);
    expect(hooks.requests.length).toBe(attemptsBefore + 1);
    expect(hooks.delivered[0].body).toEqual(failed[0].body);

    await waitForDeliveries(server, 'delivered', (found) => found.some((delivery) => delivery.id === failed[0].id));
    const again = await server.call('POST', `${API}/webhooks/deliveries/${failed[0].id}/retry`);
    expect([again.status, again.body.error.code]).toEqual([409, 'delivery_not_failed']);
    const missing = await server.call('POST', `${API}/webhooks/deliveries/dlv_nothing/retry`);
    expect([missing.status, missing.body.error.code]).toEqual([404, 'delivery_not_found']);
    const shown = await server.call('GET', `${API}/webhooks/deliveries/${failed[0].id}`);
    expect([shown.status, shown.body.delivery]).toMatchObject([200, { id: failed[0].id, status: 'delivered', body: failed[0].body }]);
    const absent = await server.call('GET', `${API}/webhooks/deliveries/dlv_nothing`);
    expect([absent.status, absent.body.error.code]).toEqual([404, 'delivery_not_found']);
  });

  it('with webhooks turned off: deliveries stay listed, a retry is refused and changes nothing, and the pending ones are named at start', async () => {
    const secret = newSecret();
    const hooks = await receiver({ secret, answer: () => 503 });
    const db = tempDb();
    const first = await withWebhooks([hooks.url], secret, { retryWindowMs: 300, timeoutMs: 60_000 }, { dbPath: db });
    const failedSession = await createSession(first);
    await send(first, failedSession.id, 'told, and refused');
    const [failed] = await waitForDeliveries(first, 'failed', (found) => found.length === 1);
    hooks.options.answer = () => 'hang';
    const pendingSession = await createSession(first);
    await send(first, pendingSession.id, 'told, never answered');
    await waitForDeliveries(first, 'pending', (found) => found.length === 1);
    await first.close();

    const { logger, lines } = capture();
    const second = await startServer({ dbPath: db, logger });
    expect(lines.find((line) => line.pending === 1)?.msg).toMatch(/no receiver is configured \(BAMBOO_WEBHOOK_URL\)/);
    const refused = await second.call('POST', `${API}/webhooks/deliveries/${failed.id}/retry`);
    expect([refused.status, refused.body.error.code]).toEqual([409, 'webhooks_disabled']);
    expect(refused.body.error.message).toContain('BAMBOO_WEBHOOK_URL');
    // A delivery that is not there, or not failed, is told so before the setting.
    const missing = await second.call('POST', `${API}/webhooks/deliveries/dlv_nothing/retry`);
    expect([missing.status, missing.body.error.code]).toEqual([404, 'delivery_not_found']);
    const [waiting] = await waitForDeliveries(second, 'pending', (found) => found.length === 1);
    const notFailed = await second.call('POST', `${API}/webhooks/deliveries/${waiting.id}/retry`);
    expect([notFailed.status, notFailed.body.error.code]).toEqual([409, 'delivery_not_failed']);
    const [still] = await waitForDeliveries(second, 'failed', (found) => found.length === 1);
    expect(still).toMatchObject({ id: failed.id, status: 'failed', attempts: failed.attempts });
    await waitForDeliveries(second, 'pending', (found) => found.length === 1 && found[0].session_id === pendingSession.id);
  });
});
