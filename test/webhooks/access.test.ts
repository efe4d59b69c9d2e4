/**
 * Who sees deliveries, and where they may go: a tenant lists and retries its
 * own sessions' deliveries only; requests go to configured URLs only, never
 * where a receiver redirects, never to a URL dropped from the configuration.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { API, cleanup, startServer, tempDb, waitForState, type TestServer } from '../http/helpers.js';
import { capture, closeReceivers, FAST, startReceiver as receiver, waitForDeliveries } from './helpers.js';
import { newSecret } from './receiver.js';

afterEach(async () => {
  await cleanup();
  await closeReceivers();
});

const KEYS = { blue: 'blue-key-0123456789abcdefghij', green: 'green-key-0123456789abcdefghij' };

/** A finished run of `tenant`; returns the session id. */
async function finishRun(server: TestServer, key: string): Promise<string> {
  const headers = { Authorization: `Bearer ${key}` };
  const created = await server.call('POST', `${API}/sessions`, { json: {}, headers });
  const id: string = created.body.session.id;
  expect((await server.call('POST', `${API}/sessions/${id}/messages`, { json: { content: 'hello' }, headers })).status).toBe(202);
  return id;
}

describe('webhook deliveries and tenants', () => {
  it("a tenant lists and reads its own sessions' deliveries only, and cannot retry another's", async () => {
    const secret = newSecret();
    const hooks = await receiver({ secret, answer: () => 500 });
    const server = await startServer({
      access: { apiKeys: [{ tenant: 'blue', key: KEYS.blue }, { tenant: 'green', key: KEYS.green }] },
      webhooks: { urls: [hooks.url], secret, ...FAST, retryWindowMs: 100 },
    });
    const blueSession = await finishRun(server, KEYS.blue);
    const greenSession = await finishRun(server, KEYS.green);

    const auth = (key: string) => ({ Authorization: `Bearer ${key}` });
    const blue = await waitForDeliveries(server, 'failed', (found) => found.length === 1, auth(KEYS.blue));
    const green = await waitForDeliveries(server, 'failed', (found) => found.length === 1, auth(KEYS.green));
    expect(blue.map((delivery) => delivery.session_id)).toEqual([blueSession]);
    expect(green.map((delivery) => delivery.session_id)).toEqual([greenSession]);

    const peeked = await server.call('GET', `${API}/webhooks/deliveries/${green[0].id}`, { headers: auth(KEYS.blue) });
    expect([peeked.status, peeked.body.error.code]).toEqual([404, 'delivery_not_found']);
    const shown = await server.call('GET', `${API}/webhooks/deliveries/${green[0].id}`, { headers: auth(KEYS.green) });
    expect([shown.status, shown.body.delivery]).toEqual([200, green[0]]);
    const stolen = await server.call('POST', `${API}/webhooks/deliveries/${green[0].id}/retry`, { headers: auth(KEYS.blue) });
    expect([stolen.status, stolen.body.error.code]).toEqual([404, 'delivery_not_found']);
    expect((await waitForDeliveries(server, 'failed', () => true, auth(KEYS.green))).map((delivery) => delivery.id)).toEqual([green[0].id]);
    expect((await server.call('GET', `${API}/webhooks/deliveries`)).status).toBe(401);
    const own = await server.call('POST', `${API}/webhooks/deliveries/${green[0].id}/retry`, { headers: auth(KEYS.green) });
    expect(own.status).toBe(202);
  });
});

describe('where deliveries go', () => {
  it('a redirect is not followed: it counts as a failed attempt, and the other URL never hears of it', async () => {
    const secret = newSecret();
    const elsewhere = await receiver({ secret });
    const redirecting = await receiver({ secret, answer: () => ({ redirect: `${elsewhere.url}/stolen` }) });
    const server = await startServer({ webhooks: { urls: [redirecting.url], secret, ...FAST, retryWindowMs: 100 } });
    const { id } = (await server.call('POST', `${API}/sessions`, { json: {} })).body.session;
    await server.call('POST', `${API}/sessions/${id}/messages`, { json: { content: 'hello' } });
    const [failed] = await waitForDeliveries(server, 'failed', (found) => found.length === 1);
    expect(failed.last_error).toBe('HTTP 307');
    expect(redirecting.requests.length).toBe(failed.attempts);
    expect(elsewhere.requests).toEqual([]);
  });

  it('a delivery to a URL no longer configured is not sent: it fails at once, and the new URL gets only new runs', async () => {
    const secret = newSecret();
    const old = await receiver({ secret });
    const current = await receiver({ secret });
    const db = tempDb();
    // The old receiver's URL is configured when the run ends, cut off by the shutdown, whose deliveries are sent at the next start.
    let server = await startServer({ dbPath: db, webhooks: { urls: [old.url], secret, ...FAST } });
    const { id } = (await server.call('POST', `${API}/sessions`, { json: {} })).body.session;
    await server.call('POST', `${API}/sessions/${id}/messages`, { json: { content: '/sleep 10000' } });
    await waitForState(server, id, 'running');
    await server.close();

    server = await startServer({ dbPath: db, webhooks: { urls: [current.url], secret, ...FAST } });
    const [failed] = await waitForDeliveries(server, 'failed', (found) => found.length === 1);
    expect(failed).toMatchObject({ type: 'run.interrupted', last_error: 'its URL is no longer configured', url: old.url.replace(/\/?$/, '/') });
    expect((await server.call('POST', `${API}/sessions/${id}/messages`, { json: { content: 'hello' } })).status).toBe(202);
    await current.waitFor(() => current.delivered.length === 1);
    expect(current.delivered[0].body.type).toBe('run.completed');
    expect(old.requests).toEqual([]);
  });

  it('a URL with a user and password is sent them as Basic authorization; no tenant, and no log line, sees them or its query', async () => {
    const secret = newSecret();
    const hooks = await receiver({ secret, answer: () => 500 });
    const url = `${hooks.url.replace('http://', 'http://hook-user:s3cret%20pw@')}/in?token=t0ken`;
    const { logger, lines } = capture();
    const server = await startServer({ logger, webhooks: { urls: [url], secret, ...FAST, retryWindowMs: 100 } });
    const { id } = (await server.call('POST', `${API}/sessions`, { json: {} })).body.session;
    await server.call('POST', `${API}/sessions/${id}/messages`, { json: { content: 'hello' } });

    const [failed] = await waitForDeliveries(server, 'failed', (found) => found.length === 1);
    expect(failed).toMatchObject({ url: `${hooks.url}/in`, last_error: 'HTTP 500' });
    expect(hooks.requests[0]).toMatchObject({ path: '/in?token=t0ken', authorization: `Basic ${Buffer.from('hook-user:s3cret pw').toString('base64')}` });
    expect(lines.length).toBeGreaterThan(0);
    const listed = await server.call('GET', `${API}/webhooks/deliveries`);
    for (const text of [listed.text, JSON.stringify(lines)]) expect(text).not.toMatch(/s3cret|t0ken|hook-user/);

    hooks.options.answer = () => 204;
    expect((await server.call('POST', `${API}/webhooks/deliveries/${failed.id}/retry`)).status).toBe(202);
    await waitForDeliveries(server, 'delivered', (found) => found.length === 1);
  });

  it('refuses a URL that is not http(s), or a secret not of the Standard Webhooks form, at start', async () => {
    const secret = newSecret();
    await expect(startServer({ webhooks: { urls: ['file:///etc/passwd'], secret } })).rejects.toThrow(/not an http:\/\/ or https:\/\/ URL/);
    await expect(startServer({ webhooks: { urls: ['http://127.0.0.1:9'], secret: 'whsec_short' } })).rejects.toThrow(/webhook secret must be whsec_/);
    await expect(startServer({ webhooks: { urls: ['http://127.0.0.1:9'], secret: secret.slice(6) } })).rejects.toThrow(/webhook secret must be whsec_/);
  });
});
