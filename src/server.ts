/**
 * `createServer`: a runtime, its storage, the HTTP app and a listening server,
 * wired together with sensible defaults. The entry point for library users.
 */
import type { AddressInfo } from 'node:net';
import { createServer as createHttpServer, type Server } from 'node:http';
import type { Express } from 'express';
import pino, { type Logger } from 'pino';
import type { InspectionEvent, Observer } from 'xstate';
import type { Agent } from './agents/agent.js';
import { createDemoAgent } from './agents/demo.js';
import { createApp } from './http/app.js';
import { IDEMPOTENCY_TTL_MS } from './http/idempotency.js';
import { Metrics } from './http/metrics.js';
import { SessionRuntime } from './runtime/runtime.js';
import { SqliteStore } from './storage/sqlite/sqlite-store.js';
import type { Store } from './storage/store.js';

export interface ServerOptions {
  /** Storage; defaults to a SQLite file at `dbPath`. */
  store?: Store;
  /** SQLite file (or `:memory:`) when no `store` is given. Default `./data/bamboo.db`. */
  dbPath?: string;
  /** Extra agents by name, beside the built-in `demo`. */
  agents?: Record<string, Agent>;
  /** Agent for sessions that name none. Default `demo`. */
  defaultAgent?: string;
  /** The demo agent's pause between tokens. Default 20 ms. */
  tokenDelayMs?: number;
  /** Default 10,000. */
  maxLiveActors?: number;
  /** Resume sessions interrupted by a crash at start-up. */
  resumeInterrupted?: boolean;
  /** Default 3000; 0 picks a free port. */
  port?: number;
  /** Default 127.0.0.1. */
  host?: string;
  logger?: Logger;
  /** SSE keep-alive comment interval. Default 15 s. */
  pingIntervalMs?: number;
  /** Bytes queued for one slow SSE client before it is dropped. Default 4 MiB. */
  sseMaxBufferedBytes?: number;
  /** Largest JSON body. Default 1 MiB. */
  bodyLimitBytes?: number;
  /** An XState inspector for every session actor. */
  inspect?: Observer<InspectionEvent>;
}

export interface BambooServer {
  /** `http://host:port`, the port resolved. */
  url: string;
  port: number;
  app: Express;
  runtime: SessionRuntime;
  http: Server;
  /** Ids of sessions found interrupted at start-up. */
  interrupted: string[];
  /** Stops taking requests, ends streams, records active runs as interrupted, closes storage. */
  close(): Promise<void>;
}

export async function createServer(options: ServerOptions = {}): Promise<BambooServer> {
  const logger = options.logger ?? pino({ level: 'silent' });
  const store = options.store ?? new SqliteStore(options.dbPath ?? './data/bamboo.db');
  const agents = new Map<string, Agent>([['demo', createDemoAgent({ tokenDelayMs: options.tokenDelayMs ?? 20 })]]);
  for (const [name, agent] of Object.entries(options.agents ?? {})) agents.set(name, agent);

  let metrics: Metrics | undefined;
  const runtime = new SessionRuntime({
    store,
    agents,
    defaultAgent: options.defaultAgent ?? 'demo',
    maxLiveActors: options.maxLiveActors,
    logger,
    inspect: options.inspect,
    onAppended: (events) => metrics?.observe(events),
  });
  metrics = new Metrics(() => runtime.counts(), () => runtime.liveActors);
  const interrupted = await runtime.start({ resumeInterrupted: options.resumeInterrupted });

  const purge = () =>
    store.purgeIdempotency(new Date(Date.now() - IDEMPOTENCY_TTL_MS).toISOString()).catch((err: unknown) =>
      logger.error({ err }, 'could not purge idempotency keys'),
    );
  await purge();
  const purgeTimer = setInterval(purge, 60 * 60 * 1000);
  purgeTimer.unref();

  const app = createApp({
    runtime,
    store,
    metrics,
    logger,
    bodyLimitBytes: options.bodyLimitBytes ?? 1024 * 1024,
    sse: { pingIntervalMs: options.pingIntervalMs ?? 15_000, maxBufferedBytes: options.sseMaxBufferedBytes ?? 4 * 1024 * 1024 },
  });
  const http = createHttpServer(app);
  // Many clients hold long SSE streams; keep-alive sockets must not pile up forever either.
  http.keepAliveTimeout = 5_000;
  try {
    await new Promise<void>((resolve, reject) => {
      http.once('error', reject);
      http.listen(options.port ?? 3000, options.host ?? '127.0.0.1', () => {
        http.off('error', reject);
        resolve();
      });
    });
  } catch (error) {
    // A taken port must not leave the database open behind a failed start.
    clearInterval(purgeTimer);
    await runtime.shutdown();
    throw error;
  }
  const address = http.address() as AddressInfo;
  const host = address.family === 'IPv6' ? `[${address.address}]` : address.address;

  let closing: Promise<void> | undefined;
  return {
    url: `http://${host}:${address.port}`,
    port: address.port,
    app,
    runtime,
    http,
    interrupted,
    close: () =>
      (closing ??= (async () => {
        clearInterval(purgeTimer);
        const stopped = new Promise<void>((resolve) => http.close(() => resolve()));
        http.closeIdleConnections();
        await runtime.shutdown();
        // Open SSE streams would hold the server forever; their clients reconnect with Last-Event-ID.
        http.closeAllConnections();
        await stopped;
      })()),
  };
}
