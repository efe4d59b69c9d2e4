/**
 * `createBamboo`: storage, runtime and the Express app, wired together with
 * sensible defaults, for mounting in an app of your own. `createServer`: the
 * same, listening on its own port. The entry points for library users.
 */
import type { AddressInfo } from 'node:net';
import { createServer as createHttpServer, type Server } from 'node:http';
import pino, { type Logger } from 'pino';
import type { Agent } from './agents/agent.js';
import { createDemoAgent } from './agents/demo.js';
import { createApp, DEFAULT_SSE } from './http/app.js';
import { SharedRateLimitStore } from './http/rate-limit.js';
import { SharedTenantStreams } from './http/tenant-streams.js';
import { IDEMPOTENCY_TTL_MS } from './http/idempotency.js';
import { answerClientErrors, limitConnectionsPerClient, refuseExpectations } from './http/connections.js';
import { Lifecycle } from './http/lifecycle.js';
import { Metrics } from './http/metrics.js';
import { createRuntime, DEFAULT_LEASE_MS, defaultInstanceId, type SessionRuntime } from './runtime/runtime.js';
import { SqliteStore } from './storage/sqlite/sqlite-store.js';
import type { RequestCounter, ServerStore, StreamCounter } from './storage/store.js';
import { Authenticator } from './auth/authenticator.js';
import { WebhookDeliveries } from './webhooks/deliveries.js';
import { WebhookDispatcher } from './webhooks/dispatcher.js';
import { webhookRenderer } from './webhooks/render.js';
import type { Bamboo, BambooOptions, BambooServer, ServerOptions } from './options.js';
import { DEFAULT_LIMITS, KEYED_DEFAULTS } from './options.js';
import { checkAccess, checkWebhooks } from './start-checks.js';

export * from './options.js';
export { UnsafeConfiguration } from './start-checks.js';

export async function createBamboo(options: BambooOptions = {}): Promise<Bamboo> {
  return assemble(options, null);
}

export async function createServer(options: ServerOptions = {}): Promise<BambooServer> {
  const listening: Listening = { http: null, host: options.host ?? '127.0.0.1', withoutKeys: false };
  const bamboo = await assemble(options, listening);
  // Timeouts are checked every second, not every 30 s (Node's default), so they hold as documented.
  // A missing Host is answered by the front door, in JSON, rather than by Node's bare 400.
  const http = createHttpServer({ connectionsCheckingInterval: 1_000, requireHostHeader: false }, bamboo.app);
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
  refuseExpectations(http);
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

/** A store shared by instances counts requests (and streams) for all of them. */
function sharedCounter(store: ServerStore): store is ServerStore & RequestCounter {
  return typeof store.countRequest === 'function';
}

function streamCounter(store: ServerStore): store is ServerStore & StreamCounter {
  return typeof store.openStream === 'function';
}
