/**
 * `createBamboo`: storage, runtime and the Express app, wired together with
 * sensible defaults, for mounting in an app of your own. `createServer`: the
 * same, listening on its own port. The entry points for library users.
 */
import type { AddressInfo } from 'node:net';
import { createServer as createHttpServer, type Server } from 'node:http';
import type { Express } from 'express';
import pino, { type Logger } from 'pino';
import type { Agent } from './agents/agent.js';
import { createDemoAgent } from './agents/demo.js';
import { createApp, DEFAULT_SSE } from './http/app.js';
import { SharedRateLimitStore } from './http/rate-limit.js';
import { SharedTenantStreams } from './http/tenant-streams.js';
import { IDEMPOTENCY_TTL_MS } from './http/idempotency.js';
import { answerClientErrors, limitConnectionsPerClient } from './http/connections.js';
import { Lifecycle } from './http/lifecycle.js';
import { Metrics } from './http/metrics.js';
import type { EventFeed } from './runtime/ports.js';
import { createRuntime, DEFAULT_LEASE_MS, defaultInstanceId, type RuntimeInspector, type SessionRuntime } from './runtime/runtime.js';
import { SqliteStore } from './storage/sqlite/sqlite-store.js';
import type { RequestCounter, ServerStore, StreamCounter } from './storage/store.js';
import { Authenticator } from './auth/authenticator.js';
import type { ConfiguredKey } from './auth/keys.js';
import { WebhookDeliveries } from './webhooks/deliveries.js';
import { WebhookDispatcher, type WebhookTuning } from './webhooks/dispatcher.js';
import { webhookRenderer } from './webhooks/render.js';
import { checkSecret, receiverUrl } from './webhooks/urls.js';

/** API keys and tenants, the front door, per-tenant limits. */
export interface AccessSettings {
  /** Keys given in the configuration (`BAMBOO_API_KEYS`), beside those in the store. */
  apiKeys?: readonly ConfiguredKey[];
  /** Host names served beside the loopback ones and the listening address; `*` for any. */
  allowedHosts?: readonly string[] | '*';
  /** Browser origins allowed to call the API (CORS). */
  corsOrigins?: readonly string[];
  /** Requests per minute per tenant. Default: 6,000 when keys exist, else none; 0 for none. */
  rateLimitPerMinute?: number;
  /** Concurrent runs per tenant. Default: 100 when keys exist, else none; 0 for none. */
  maxRunsPerTenant?: number;
  /** Open event streams per tenant. Default: 1,000 when keys exist, else none; 0 for none. */
  maxStreamsPerTenant?: number;
  /** Listen on a non-loopback address without any API key (a warning at every start). */
  allowUnauthenticated?: boolean;
  /** Keep the Stately inspector on although keys exist (it shows every tenant's sessions). */
  inspectorWithKeys?: boolean;
}

/** Defaults of the per-tenant limits when API keys exist. */
export const KEYED_DEFAULTS = { rateLimitPerMinute: 6_000, maxRunsPerTenant: 100, maxStreamsPerTenant: 1_000 } as const;

/** A configuration that must not start: it would expose the server, or every tenant's sessions. */
export class UnsafeConfiguration extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'UnsafeConfiguration';
  }
}

/** What one instance spends at most on its clients and its sessions. Every `max…` of 0 means no limit. */
export interface ResourceLimits {
  /** Open event streams in all. Default 5,000. */
  maxStreams?: number;
  /** Open event streams of one session. Default 2,000. */
  maxStreamsPerSession?: number;
  /** Open event streams of one client address. Default 2,000. */
  maxStreamsPerClient?: number;
  /** Bytes buffered by all slow event streams together before the slowest are cut. Default 64 MiB. */
  sseBufferedBytes?: number;
  /** Bytes of one page of events or messages. Default 4 MiB. */
  pageBytes?: number;
  /** How long a client may leave part of a page unread before its response is cut, in ms. Default 30 s. */
  pageStallMs?: number;
  /** Open connections in all (`server.maxConnections`). Default 10,000. */
  maxConnections?: number;
  /** Open connections of one client address. Default 2,500. */
  maxConnectionsPerClient?: number;
  /** Estimated memory of live session actors before idle ones are passivated. Default 256 MiB. */
  maxLiveBytes?: number;
  /** Sessions per tenant. Default: no quota. */
  quotaSessions?: number;
  /** Bytes of stored sessions per tenant. Default: no quota. */
  quotaBytes?: number;
  /** Delete sessions idle for longer than this many days. Default 0: keep everything. */
  retentionDays?: number;
}

export const DEFAULT_LIMITS = {
  maxStreams: 5_000,
  maxStreamsPerSession: 2_000,
  maxStreamsPerClient: 2_000,
  maxConnections: 10_000,
  maxConnectionsPerClient: 2_500,
} as const;

/** Webhooks: receivers the operator configures (never an API client), told of every run's end. */
export interface WebhookSettings extends WebhookTuning {
  /** `http://` or `https://` URLs; each is sent every run ending. None: webhooks are off. */
  urls: readonly string[];
  /** The signing secret, `whsec_` and base64 (Standard Webhooks). */
  secret: string;
}

export interface BambooOptions {
  /** Storage; defaults to a SQLite file at `dbPath`. It must also keep idempotency records, API keys and the webhook outbox. */
  store?: ServerStore;
  /** SQLite file (or `:memory:`) when no `store` is given. Default `./data/bamboo.db`. */
  dbPath?: string;
  /** Other processes' news, when several share a PostgreSQL store. */
  feed?: EventFeed;
  /** Extra agents by name, beside the built-in `demo`. */
  agents?: Record<string, Agent>;
  /** Agent for sessions that name none. Default `demo`. */
  defaultAgent?: string;
  /** The demo agent's pause between tokens. Default 20 ms. */
  tokenDelayMs?: number;
  /** Default 10,000. */
  maxLiveActors?: number;
  /** Messages a session may have queued. Default 20. */
  maxQueued?: number;
  /** How long a run's lease lasts without renewal. Default 10 s. */
  leaseMs?: number;
  /** This process among several sharing a store. */
  instanceId?: string;
  /** Resume interrupted sessions at start-up (and, with a shared store, whenever a lease expires). */
  resumeInterrupted?: boolean;
  logger?: Logger;
  /** SSE keep-alive comment interval. Default 15 s. */
  pingIntervalMs?: number;
  /** Bytes queued for one slow SSE client before it is dropped. Default 4 MiB. */
  sseMaxBufferedBytes?: number;
  /** Largest JSON body. Default 1 MiB. */
  bodyLimitBytes?: number;
  /** How long shutdown waits for requests in flight. Default 10 s. */
  shutdownGraceMs?: number;
  /** The Stately inspector, given every session actor. */
  inspector?: RuntimeInspector;
  access?: AccessSettings;
  limits?: ResourceLimits;
  webhooks?: WebhookSettings;
}

export interface Bamboo {
  /** The Express app: mount it where you like (`parent.use('/bamboo', bamboo.app)`). */
  app: Express;
  runtime: SessionRuntime;
  /** Sessions found interrupted at start-up. */
  interrupted: string[];
  /** Waits for requests in flight, records active runs as interrupted, closes storage, ends streams. Resolves with the interrupted runs' sessions. */
  close(): Promise<string[]>;
}

export interface ServerOptions extends BambooOptions {
  /** Default 3000; 0 picks a free port. */
  port?: number;
  /** Default 127.0.0.1. */
  host?: string;
}

export interface BambooServer extends Bamboo {
  /** `http://host:port`, the port resolved. */
  url: string;
  port: number;
  http: Server;
}

export async function createBamboo(options: BambooOptions = {}): Promise<Bamboo> {
  return assemble(options, null);
}

export async function createServer(options: ServerOptions = {}): Promise<BambooServer> {
  const listening: Listening = { http: null, host: options.host ?? '127.0.0.1', withoutKeys: false };
  const bamboo = await assemble(options, listening);
  // Timeouts are checked every second, not every 30 s (Node's default), so they hold as documented.
  const http = createHttpServer({ connectionsCheckingInterval: 1_000 }, bamboo.app);
  listening.http = http;
  // Many clients hold long SSE streams; keep-alive sockets must not pile up forever either.
  http.keepAliveTimeout = 5_000;
  // A client that sends its headers (or its body) slowly holds a connection for seconds, not minutes.
  http.headersTimeout = 10_000;
  http.requestTimeout = 30_000;
  http.maxRequestsPerSocket = 10_000;
  const limits = options.limits ?? {};
  http.maxConnections = limits.maxConnections ?? DEFAULT_LIMITS.maxConnections;
  limitConnectionsPerClient(http, limits.maxConnectionsPerClient ?? DEFAULT_LIMITS.maxConnectionsPerClient);
  answerClientErrors(http);
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
    await bamboo.close();
    throw error;
  }
  // Told once the address is known to be this machine's: a start that fails says only why.
  if (listening.withoutKeys) options.logger?.warn({ host: listening.host }, `listening on ${listening.host} without API keys: anyone who can reach it may use and delete every session`);
  const address = http.address() as AddressInfo;
  const host = address.family === 'IPv6' ? `[${address.address}]` : address.address;
  return { ...bamboo, url: `http://${host}:${address.port}`, port: address.port, http };
}

/** The server's own port, when it has one: its address, and whether it serves other machines without keys. */
interface Listening {
  http: Server | null;
  host: string;
  withoutKeys: boolean;
}

async function assemble(options: BambooOptions, listening: Listening | null): Promise<Bamboo> {
  const logger = options.logger ?? pino({ level: 'silent' });
  const store: ServerStore = options.store ?? new SqliteStore(options.dbPath ?? './data/bamboo.db');
  const access = options.access ?? {};
  let keysExist: boolean;
  const authenticator = new Authenticator({ configured: access.apiKeys ?? [], store });
  try {
    keysExist = await authenticator.required();
    const withoutKeys = checkAccess(access, keysExist, listening?.host, Boolean(options.inspector));
    if (listening) listening.withoutKeys = withoutKeys;
    checkWebhooks(options.webhooks);
  } catch (error) {
    await options.feed?.close();
    await store.close();
    throw error;
  }
  const limit = (value: number | undefined, keyed: number) => value ?? (keysExist ? keyed : 0);
  const agents = new Map<string, Agent>([['demo', createDemoAgent({ tokenDelayMs: options.tokenDelayMs ?? 20 })]]);
  for (const [name, agent] of Object.entries(options.agents ?? {})) agents.set(name, agent);

  const webhooks = options.webhooks?.urls.length ? options.webhooks : undefined;
  const instanceId = options.instanceId ?? defaultInstanceId();
  // Started once the runtime has: a run ending before that is sent at the dispatcher's first look.
  const dispatcher = webhooks && new WebhookDispatcher({ ...webhooks, outbox: store, owner: instanceId, logger });
  let runtime: SessionRuntime;
  let interrupted: string[];
  try {
    runtime = createRuntime({
      store,
      agents,
      defaultAgent: options.defaultAgent ?? 'demo',
      maxLiveActors: options.maxLiveActors,
      maxQueued: options.maxQueued,
      maxLiveBytes: options.limits?.maxLiveBytes,
      quotas: { sessionsPerTenant: options.limits?.quotaSessions ?? 0, bytesPerTenant: options.limits?.quotaBytes ?? 0 },
      retentionDays: options.limits?.retentionDays,
      maxRunsPerTenant: limit(access.maxRunsPerTenant, KEYED_DEFAULTS.maxRunsPerTenant),
      leaseMs: options.leaseMs,
      instanceId,
      feed: options.feed,
      logger,
      inspector: options.inspector,
      webhooks: webhooks && { render: webhookRenderer(webhooks.urls), queued: () => dispatcher?.wake() },
    });
    interrupted = await runtime.start({ resumeInterrupted: options.resumeInterrupted });
  } catch (error) {
    await options.feed?.close();
    await store.close();
    throw error;
  }

  const purge = () =>
    store.purgeIdempotency(new Date(Date.now() - IDEMPOTENCY_TTL_MS).toISOString()).catch((err: unknown) =>
      logger.error({ err }, 'could not purge idempotency keys'),
    );
  await purge();
  const purgeTimer = setInterval(purge, 60 * 60 * 1000);
  purgeTimer.unref();

  const metrics = new Metrics(runtime);
  if (dispatcher) {
    metrics.watchWebhooks(() => store.countPendingDeliveries());
    dispatcher.start((result) => metrics.deliverySettled(result));
  } else {
    await warnUnsent(store, logger);
  }

  const lifecycle = new Lifecycle();
  // Shared storage counts every instance's streams together.
  const tenantStreams = streamCounter(store) ? new SharedTenantStreams(store, { instance: instanceId, ttlMs: options.leaseMs ?? DEFAULT_LEASE_MS, logger }) : undefined;
  const app = createApp({
    runtime,
    idempotencyStore: store,
    webhooks: new WebhookDeliveries(store, dispatcher, webhooks?.now),
    metrics,
    logger,
    lifecycle,
    access: {
      authenticator,
      frontDoor: { listenHost: listening?.host ?? '127.0.0.1', allowedHosts: access.allowedHosts ?? [], corsOrigins: access.corsOrigins ?? [] },
      rateLimitPerMinute: limit(access.rateLimitPerMinute, KEYED_DEFAULTS.rateLimitPerMinute),
      // Shared storage counts every instance's requests together.
      rateLimitStore: sharedCounter(store) ? new SharedRateLimitStore(store) : undefined,
      tenantStreams,
      streams: {
        perTenant: limit(access.maxStreamsPerTenant, KEYED_DEFAULTS.maxStreamsPerTenant),
        total: options.limits?.maxStreams ?? DEFAULT_LIMITS.maxStreams,
        perSession: options.limits?.maxStreamsPerSession ?? DEFAULT_LIMITS.maxStreamsPerSession,
        perClient: options.limits?.maxStreamsPerClient ?? DEFAULT_LIMITS.maxStreamsPerClient,
      },
    },
    budget: { pageBytes: options.limits?.pageBytes, pageStallMs: options.limits?.pageStallMs, sseBufferedBytes: options.limits?.sseBufferedBytes },
    bodyLimitBytes: options.bodyLimitBytes,
    sse: {
      pingIntervalMs: options.pingIntervalMs ?? DEFAULT_SSE.pingIntervalMs,
      maxBufferedBytes: options.sseMaxBufferedBytes ?? DEFAULT_SSE.maxBufferedBytes,
    },
  });

  let closing: Promise<string[]> | undefined;
  const close = () =>
    (closing ??= (async () => {
      clearInterval(purgeTimer);
      const http = listening?.http;
      const stopped = http?.listening ? new Promise<void>((resolve) => http.close(() => resolve())) : Promise.resolve();
      http?.closeIdleConnections();
      const unfinished = await lifecycle.drain(options.shutdownGraceMs ?? 10_000);
      if (unfinished > 0) logger.warn({ requests: unfinished }, 'shutting down with requests still in flight');
      // Before storage closes; deliveries of the runs interrupted next are sent at the next start.
      await dispatcher?.stop();
      await tenantStreams?.stop();
      const stoppedRuns = await runtime.shutdown();
      // Streams are ended, not cut: each has been sent its run's `run_interrupted`; clients reconnect with Last-Event-ID.
      lifecycle.endStreams();
      http?.closeIdleConnections();
      setTimeout(() => http?.closeAllConnections(), 1_000).unref();
      await stopped;
      return stoppedRuns;
    })());

  return { app, runtime, interrupted, close };
}

/** Deliveries written while webhooks were on wait for them to be on again: say so, rather than leave them silently. */
async function warnUnsent(store: ServerStore, logger: Logger): Promise<void> {
  const pending = await store.countPendingDeliveries().catch(() => 0);
  if (pending > 0) logger.warn({ pending }, 'webhook deliveries are pending, and no receiver is configured (BAMBOO_WEBHOOK_URL): they are sent once webhooks are on again');
}

/** Receivers must be http(s) URLs, signed with a secret of the Standard Webhooks form. */
function checkWebhooks(webhooks: WebhookSettings | undefined): void {
  if (!webhooks?.urls.length) return;
  for (const url of webhooks.urls) receiverUrl(url);
  try {
    checkSecret(webhooks.secret);
  } catch (error) {
    throw new Error(`The webhook secret ${(error as Error).message}`);
  }
}

const LOOPBACK = new Set(['127.0.0.1', '::1', 'localhost']);

/** A store shared by instances counts requests (and streams) for all of them. */
function sharedCounter(store: ServerStore): store is ServerStore & RequestCounter {
  return typeof store.countRequest === 'function';
}

function streamCounter(store: ServerStore): store is ServerStore & StreamCounter {
  return typeof store.openStream === 'function';
}

/** Refuses what would expose the server. True when the operator chose to serve other machines without keys (to be warned of). */
function checkAccess(access: AccessSettings, keysExist: boolean, host: string | undefined, inspecting: boolean): boolean {
  if (inspecting && keysExist && !access.inspectorWithKeys) {
    throw new UnsafeConfiguration(
      'the Stately inspector shows every tenant\'s sessions, and API keys exist: turn BAMBOO_INSPECT off, or set BAMBOO_INSPECT_ALLOW_WITH_KEYS=1',
    );
  }
  if (host === undefined || LOOPBACK.has(host) || /^127\./.test(host) || keysExist) return false;
  if (!access.allowUnauthenticated) {
    throw new UnsafeConfiguration(
      `HOST ${host} is reachable from other machines, and no API key exists: set BAMBOO_API_KEYS=tenant:key (a key of 24+ characters), ` +
        'or create one with `bamboo-server keys create --tenant NAME`; BAMBOO_ALLOW_UNAUTHENTICATED=1 starts without keys anyway',
    );
  }
  return true;
}
