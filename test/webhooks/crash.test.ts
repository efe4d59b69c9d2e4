/**
 * Black-box, through the real command: a run ends while the receiver is down,
 * the server is killed with SIGKILL before the delivery gets through, the
 * receiver comes up, the server restarts on the same file, and the delivery
 * arrives, signed, under the webhook-id it had before the crash.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { startCli, type RunningCli } from '../cli/run.js';
import { closeReceivers, startReceiver } from './helpers.js';
import { newSecret } from './receiver.js';

const dirs: string[] = [];
const running: RunningCli[] = [];
afterEach(async () => {
  await Promise.all(running.splice(0).map((cli) => cli.stop('SIGKILL')));
  await closeReceivers();
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

const json = { 'Content-Type': 'application/json' };

async function api(base: string, method: string, path: string, body?: unknown): Promise<any> {
  const response = await fetch(`${base}/api/v1${path}`, { method, headers: json, body: body === undefined ? undefined : JSON.stringify(body) });
  return response.json();
}

describe('a crash between a run’s end and its delivery', () => {
  it('loses nothing: after kill -9 and a restart, the delivery arrives', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'bamboo-webhooks-'));
    dirs.push(dir);
    const secret = newSecret();
    // A port where nothing listens yet: the receiver is down.
    const probe = await startReceiver({ secret });
    const port = probe.port;
    await probe.close();
    const env = {
      BAMBOO_DB: join(dir, 'bamboo.db'),
      PORT: '0',
      BAMBOO_TOKEN_DELAY_MS: '0',
      BAMBOO_LOG_LEVEL: 'debug',
      BAMBOO_WEBHOOK_URL: `http://127.0.0.1:${port}/hooks`,
      BAMBOO_WEBHOOK_SECRET: secret,
    };

    const first = await startCli([], env);
    running.push(first);
    const { session } = await api(first.url, 'POST', '/sessions', { metadata: { ticket: 'T-1' } });
    await api(first.url, 'POST', `/sessions/${session.id}/messages`, { content: 'hello' });
    await first.waitForEntry((entry) => entry.msg === 'webhook attempt failed; retrying' && entry.error === 'ECONNREFUSED');
    const [pending] = (await api(first.url, 'GET', '/webhooks/deliveries?status=pending')).deliveries;
    expect(pending).toMatchObject({ type: 'run.completed', session_id: session.id, status: 'pending', last_error: 'ECONNREFUSED' });
    const killed = await first.stop('SIGKILL');
    expect(killed.signal).toBe('SIGKILL');

    const hooks = await startReceiver({ secret, port });
    const second = await startCli([], env);
    running.push(second);
    await hooks.waitFor(() => hooks.delivered.length === 1, 20_000);
    const [delivered] = hooks.delivered;
    expect(delivered.id).toBe(pending.id);
    expect(delivered.path).toBe('/hooks');
    // Verified with standardwebhooks (an unverified request is answered 401 and has no body).
    expect(delivered.body).toMatchObject({ type: 'run.completed', data: { session_id: session.id, state: 'completed', metadata: { ticket: 'T-1' } } });
    await vi.waitFor(async () => expect((await api(second.url, 'GET', '/webhooks/deliveries')).deliveries).toMatchObject([{ id: pending.id, status: 'delivered' }]));
  });
});
