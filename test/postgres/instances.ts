/**
 * Bamboo instances in this process, each with its own pool, feed and HTTP
 * server, sharing one PostgreSQL database: as separate processes would,
 * except that they can be inspected.
 */
import type { Logger } from 'pino';
import { vi } from 'vitest';
import type { Agent } from '../../src/agents/agent.js';
import { type AccessSettings, createServer, type BambooServer, type WebhookSettings } from '../../src/server.js';
import { PgFeed } from '../../src/storage/postgres/feed.js';
import { PgStore } from '../../src/storage/postgres/pg-store.js';
import { API, call, type CallOptions, type Json, type Reply } from '../http/helpers.js';

export interface Instance {
  id: string;
  server: BambooServer;
  store: PgStore;
  feed: PgFeed;
  url: string;
  call(method: string, path: string, options?: CallOptions): Promise<Reply>;
  close(): Promise<void>;
}

export interface InstanceOptions {
  leaseMs?: number;
  /** Where the server logs; silent by default. */
  logger?: Logger;
  agents?: Record<string, Agent>;
  defaultAgent?: string;
  resumeInterrupted?: boolean;
  tokenDelayMs?: number;
  webhooks?: WebhookSettings;
  access?: AccessSettings;
  /** The store's limit on one statement. */
  statementTimeoutMs?: number;
}

export async function startInstance(url: string, id: string, options: InstanceOptions = {}): Promise<Instance> {
  const store = await PgStore.open(url, { max: 4, instanceId: id, statementTimeoutMs: options.statementTimeoutMs });
  const feed = new PgFeed(store, { instanceId: id, minBackoffMs: 50, maxBackoffMs: 200 });
  const server = await createServer({
    port: 0,
    host: '127.0.0.1',
    store,
    feed,
    instanceId: id,
    leaseMs: options.leaseMs ?? 600,
    agents: options.agents,
    defaultAgent: options.defaultAgent,
    resumeInterrupted: options.resumeInterrupted,
    tokenDelayMs: options.tokenDelayMs ?? 0,
    webhooks: options.webhooks,
    access: options.access,
    logger: options.logger,
    // Closing must not wait for streams the test left open.
    shutdownGraceMs: 200,
  });
  let closed: Promise<void> | undefined;
  return {
    id,
    server,
    store,
    feed,
    url: server.url,
    call: (method, path, callOptions) => call(server.url, method, path, callOptions),
    close: () => (closed ??= server.close().then(() => undefined)),
  };
}

export async function createSession(instance: Instance, body: Record<string, unknown> = {}): Promise<Json> {
  const reply = await instance.call('POST', `${API}/sessions`, { json: body });
  if (reply.status !== 201) throw new Error(`create: ${reply.status} ${reply.text}`);
  return reply.body.session;
}

export async function sendMessage(instance: Instance, id: string, content: string, extra: Record<string, unknown> = {}): Promise<Reply> {
  return instance.call('POST', `${API}/sessions/${id}/messages`, { json: { content, ...extra } });
}

/** Polls GET session on `instance` until `accept` holds. */
export async function waitForSession(instance: Instance, id: string, accept: (session: Json) => boolean, timeout = 10_000): Promise<Json> {
  return vi.waitFor(
    async () => {
      const reply = await instance.call('GET', `${API}/sessions/${id}`);
      if (reply.status !== 200 || !accept(reply.body.session)) throw new Error(`session ${id}: ${reply.status} ${reply.text.slice(0, 300)}`);
      return reply.body.session;
    },
    { timeout, interval: 10 },
  );
}

/** An agent whose runs wait until `release`, and that records every run it was given. */
export function gatedAgent(): { agent: Agent; runs: { runId: string; signal: AbortSignal }[]; release: () => void } {
  let open!: () => void;
  const gate = new Promise<void>((resolve) => (open = resolve));
  const runs: { runId: string; signal: AbortSignal }[] = [];
  return {
    runs,
    release: open,
    agent: {
      async run({ runId, signal }) {
        runs.push({ runId, signal });
        await new Promise<void>((resolve, reject) => {
          void gate.then(resolve);
          signal.addEventListener('abort', () => reject(signal.reason), { once: true });
        });
        return { kind: 'completed', message: 'released' };
      },
    },
  };
}

/** One frame of an SSE stream, with when it arrived. */
export interface Frame {
  id: number;
  type: string;
  data: Json;
  receivedAt: number;
}

/** A raw SSE reader over fetch that stamps every frame with its arrival time. */
export function openStream(instance: Instance, id: string, headers: Record<string, string> = {}, query = '?after=0'): { frames: Frame[]; close: () => void } {
  const frames: Frame[] = [];
  const controller = new AbortController();
  void (async () => {
    const response = await fetch(`${instance.url}${API}/sessions/${id}/events${query}`, {
      headers: { Accept: 'text/event-stream', ...headers },
      signal: controller.signal,
    });
    const decoder = new TextDecoder();
    let buffer = '';
    for await (const chunk of response.body as unknown as AsyncIterable<Uint8Array>) {
      const receivedAt = Date.now();
      buffer += decoder.decode(chunk, { stream: true });
      let end: number;
      while ((end = buffer.indexOf('\n\n')) >= 0) {
        const block = buffer.slice(0, end);
        buffer = buffer.slice(end + 2);
        const fields = Object.fromEntries(block.split('\n').filter((line) => !line.startsWith(':')).map((line) => [line.slice(0, line.indexOf(':')), line.slice(line.indexOf(':') + 2)]));
        if (fields.data !== undefined) frames.push({ id: Number(fields.id), type: fields.event!, data: JSON.parse(fields.data), receivedAt });
      }
    }
  })().catch(() => undefined);
  return { frames, close: () => controller.abort() };
}
