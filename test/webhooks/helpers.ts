/** Shared by the webhook suites: receivers closed after each test, short retry times, waiting on the deliveries list. */
import { Writable } from 'node:stream';
import pino from 'pino';
import { expect, vi } from 'vitest';
import { API, type TestServer } from '../http/helpers.js';
import { Receiver, type ReceiverOptions } from './receiver.js';

/** Retries within milliseconds, where production waits seconds to an hour. */
export const FAST = { backoffBaseMs: 10, backoffCapMs: 50, pollIntervalMs: 20 };

const open: Receiver[] = [];

/** A receiver that `closeReceivers` closes. */
export async function startReceiver(options: ReceiverOptions): Promise<Receiver> {
  const receiver = await Receiver.start(options);
  open.push(receiver);
  return receiver;
}

export async function closeReceivers(): Promise<void> {
  await Promise.all(open.splice(0).map((receiver) => receiver.close()));
}

/** Polls the deliveries of one status until `accept` holds; returns them. */
export async function waitForDeliveries(server: TestServer, status: string, accept: (deliveries: any[]) => boolean, headers: Record<string, string> = {}): Promise<any[]> {
  return vi.waitFor(
    async () => {
      const reply = await server.call('GET', `${API}/webhooks/deliveries?status=${status}&limit=200`, { headers });
      expect(reply.status, reply.text).toBe(200);
      if (!accept(reply.body.deliveries)) throw new Error(`${reply.body.deliveries.length} deliveries ${status}`);
      return reply.body.deliveries;
    },
    { timeout: 10_000, interval: 20 },
  );
}

/** A logger at `warn` whose lines are kept, parsed, in `lines`. */
export function capture(): { logger: pino.Logger; lines: Record<string, unknown>[] } {
  const lines: Record<string, unknown>[] = [];
  const sink = new Writable({ write: (chunk, _encoding, done) => (lines.push(JSON.parse(String(chunk))), done()) });
  return { logger: pino({ level: 'warn' }, sink), lines };
}
