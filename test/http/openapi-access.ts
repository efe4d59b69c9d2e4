/** Requests that show the answers of the front door and the per-tenant limits, on every operation that has them. */
import { expect } from 'vitest';
import { frontDoorErrors } from '../../src/http/openapi/operation.js';
import { OPERATIONS } from '../../src/http/openapi/operations.js';
import { API, type CallOptions, sleep, startServer, type TestServer, waitForState } from './helpers.js';
import type { ResponseCheck } from './openapi-check.js';
import { openStream } from './raw-http.js';

const KEY = 'openapi-key-0123456789abcdefghij';
const AUTH = { Authorization: `Bearer ${KEY}` };
const keyed = { apiKeys: [{ tenant: 'docs', key: KEY }] };

/** Quotas are counted at most a second late. */
const QUOTA_LAG_MS = 1_100;

/** Every operation: a Host not allowed, a foreign Origin on writes, no key, then the rate limit once spent. */
export async function driveFrontDoor(check: ResponseCheck): Promise<void> {
  const server = await startServer({ access: { ...keyed, rateLimitPerMinute: 1 } });
  // The one request the rate limit allows.
  const id = (await check.call(server, 'POST', `${API}/sessions`, { json: {}, headers: AUTH })).body.session.id as string;
  for (const op of OPERATIONS) {
    const method = op.method.toUpperCase();
    const path = op.path.replace('{id}', id).replace('{message_id}', 'msg_x');
    const expectCode = (code: string, reply: { body: any }) => expect(reply.body?.error?.code, `${method} ${path}`).toBe(code);
    const codes = frontDoorErrors(op);
    expectCode('host_not_allowed', await check.raw(server, method, path, { Host: 'evil.example', ...AUTH }));
    if (codes.includes('origin_not_allowed')) expectCode('origin_not_allowed', await check.raw(server, method, path, { Origin: 'https://evil.example', ...AUTH }));
    if (codes.includes('unauthorized')) {
      const refused = await check.raw(server, method, path, {});
      expectCode('unauthorized', refused);
      expect(refused.headers['www-authenticate']).toMatch(/^Bearer\b/);
    }
    if (codes.includes('rate_limited')) {
      const limited = await check.raw(server, method, path, AUTH);
      expectCode('rate_limited', limited);
      expect(Number(limited.headers['retry-after'])).toBeGreaterThan(0);
    }
  }
}

/** Runs and streams per tenant, and the storage quotas, each where an operation meets it. */
export async function driveLimits(check: ResponseCheck): Promise<void> {
  await driveRunAndStreamLimits(check, await startServer({ access: { ...keyed, maxRunsPerTenant: 1, maxStreamsPerTenant: 1 } }));
  await driveQuotas(check, await startServer({ limits: { quotaSessions: 2, quotaBytes: 5_000 } }));
}

/** The server, every call with the key. */
function withKey(server: TestServer): TestServer {
  return { ...server, call: (method, path, options = {}) => server.call(method, path, { ...options, headers: { ...AUTH, ...options.headers } }) };
}

async function driveRunAndStreamLimits(check: ResponseCheck, keyedServer: TestServer): Promise<void> {
  const server = withKey(keyedServer);
  const c = (method: string, path: string, options?: CallOptions) => check.call(server, method, path, options);
  const create = async () => `${API}/sessions/${(await c('POST', `${API}/sessions`, { json: {} })).body.session.id}`;
  const [pending, asking, busy] = [await create(), await create(), await create()];
  await c('POST', `${asking}/messages`, { json: { content: '/ask Pick one | a | b' } });
  const question = (await waitForState(server, asking.split('/').at(-1)!, 'awaitingUser')).pending_question.id;
  expect((await c('POST', `${pending}/messages`, { json: { content: 'later', resume: false } })).status).toBe(201);
  expect((await c('POST', `${busy}/messages`, { json: { content: '/sleep 10000' } })).status).toBe(202);

  // One run is the tenant's limit, and it is taken.
  const tooMany = async (method: string, path: string, options?: CallOptions) => expect((await c(method, path, options)).body.error.code).toBe('too_many_runs');
  await tooMany('POST', `${pending}/resume`);
  await tooMany('POST', `${pending}/messages`, { json: { content: 'now' } });
  await tooMany('POST', `${asking}/respond`, { json: { question_id: question, answer: 'a' } });

  // One stream is the tenant's limit.
  const held = await openStream(server.url, `${busy}/events`, AUTH);
  expect(held.status).toBe(200);
  await check.stream(server, `${pending}/events`, AUTH);
  expect([...check.seen]).toContain('readEvents too_many_streams');
  held.close();
  await c('POST', `${busy}/cancel`);
}

async function driveQuotas(check: ResponseCheck, server: TestServer): Promise<void> {
  const c = (method: string, path: string, options?: CallOptions) => check.call(server, method, path, options);
  const create = async () => (await c('POST', `${API}/sessions`, { json: {} })).body.session.id as string;
  const [big, asking] = [await create(), await create()];
  await c('POST', `${API}/sessions/${asking}/messages`, { json: { content: '/ask Pick one | a | b' } });
  const question = (await waitForState(server, asking, 'awaitingUser')).pending_question.id;
  expect((await c('POST', `${API}/sessions/${big}/messages`, { json: { content: 'x'.repeat(6_000), resume: false } })).status).toBe(201);
  await sleep(QUOTA_LAG_MS);

  const over = async (method: string, path: string, options?: CallOptions) => expect((await c(method, path, options)).body.error.code).toBe('quota_exceeded');
  await over('POST', `${API}/sessions`, { json: {} });
  await over('POST', `${API}/sessions/${big}/messages`, { json: { content: 'more' } });
  await over('POST', `${API}/sessions/${asking}/respond`, { json: { question_id: question, answer: 'a' } });
}
