/**
 * The Express app: a factory over a runtime, so tests and library users can
 * mount it anywhere. Middleware per concern, then one API router carrying every
 * session route, then the service and console routes.
 */
import express, { Router, type Express } from 'express';
import type { Store as RateLimitStore } from 'express-rate-limit';
import type { Logger } from 'pino';
import type { SessionRuntime } from '../runtime/runtime.js';
import type { IdempotencyStore } from '../storage/store.js';
import { jsonBody } from './body.js';
import { langGraphApi } from './langgraph/index.js';
import { errorHandler, routeNotFound } from './errors.js';
import { idempotency } from './idempotency.js';
import { Lifecycle } from './lifecycle.js';
import { Metrics } from './metrics.js';
import { requestLog } from './request-log.js';
import { consoleRoutes } from './routes/console.js';
import type { RouteDeps } from './routes/deps.js';
import { eventRoutes } from './routes/events.js';
import { machineRoutes } from './routes/machines.js';
import { messageRoutes } from './routes/messages.js';
import { openapiRoutes } from './routes/openapi.js';
import { runRoutes } from './routes/runs.js';
import { serviceRoutes } from './routes/service.js';
import { sessionRoutes } from './routes/sessions.js';
import { webhookRoutes } from './routes/webhooks.js';
import type { WebhookDeliveries } from '../webhooks/deliveries.js';
import type { SseOptions } from './sse.js';
import { Authenticator } from '../auth/authenticator.js';
import { DEFAULT_LIMITS } from '../options.js';
import { BufferBudget } from './buffer-budget.js';
import { requireApiKey } from './auth.js';
import { allowHosts, type FrontDoorOptions, guardOrigins } from './front-door.js';
import { tenantRateLimit } from './rate-limit.js';
import { StreamBudget, type StreamLimits, type TenantStreams } from './stream-budget.js';

/** Who may call the API, from where, how often. */
export interface AccessOptions {
  /** Checks API keys; without one (or with no keys) every request is the `default` tenant's. */
  authenticator?: Authenticator;
  /** Host allow-list and browser origins. Default: loopback names only, no CORS. */
  frontDoor?: FrontDoorOptions;
  /** Requests per minute per tenant; 0 or absent for no limit. */
  rateLimitPerMinute?: number;
  /** Where request counts are kept; in memory by default. */
  rateLimitStore?: RateLimitStore;
  /** Open event streams allowed; each limit 0 for none. */
  streams?: Partial<StreamLimits>;
  /** Where a tenant's open streams are counted; by this instance alone by default. */
  tenantStreams?: TenantStreams;
}

/** How much one response may hold. */
export interface ResponseBudget {
  /** Bytes of one page of events or messages (past its first item). Default 4 MiB. */
  pageBytes?: number;
  /** How long a client may leave part of a page unread before its response is cut, in ms. Default 30 s. */
  pageStallMs?: number;
  /** Bytes buffered for slow event streams, all together, before the slowest are cut. Default 64 MiB. */
  sseBufferedBytes?: number;
}

export interface AppOptions {
  runtime: SessionRuntime;
  /** Where responses for `Idempotency-Key` are kept: the runtime's store. */
  idempotencyStore: IdempotencyStore;
  logger: Logger;
  /** Prometheus metrics; by default a fresh registry. */
  metrics?: Metrics;
  /** Largest accepted JSON body, in bytes. Default 1 MiB. */
  bodyLimitBytes?: number;
  sse?: Partial<SseOptions>;
  /** Tracks requests in flight and open streams, for a clean shutdown. */
  lifecycle?: Lifecycle;
  access?: AccessOptions;
  budget?: ResponseBudget;
  /** Webhook deliveries, listed and retried by their tenants; without it those routes are not served. */
  webhooks?: WebhookDeliveries;
}

const NO_STREAM_LIMITS: StreamLimits = { total: 0, perTenant: 0, perSession: 0, perClient: 0 };

export const DEFAULT_SSE: SseOptions = { pingIntervalMs: 15_000, maxBufferedBytes: 4 * 1024 * 1024 };

export function createApp(options: AppOptions): Express {
  const { runtime, logger } = options;
  const metrics = options.metrics ?? new Metrics(runtime);
  const { guard, replayOnRace } = idempotency(options.idempotencyStore, async (req) => {
    if (typeof req.params.id === 'string') await runtime.forTenant(req.tenant).getSession(req.params.id);
  });
  const lifecycle = options.lifecycle ?? new Lifecycle();
  const access = options.access ?? {};
  const frontDoor = access.frontDoor ?? { listenHost: '127.0.0.1', allowedHosts: [], corsOrigins: [] };
  // One limiter for both APIs: a tenant's requests count together, wherever they go.
  const rateLimit = access.rateLimitPerMinute ? tenantRateLimit(access.rateLimitPerMinute, access.rateLimitStore) : null;
  const admit = [
    requireApiKey(access.authenticator ?? new Authenticator({ configured: [] })),
    ...(rateLimit ? [rateLimit] : []),
    jsonBody(options.bodyLimitBytes ?? 1024 * 1024),
  ];
  const streams = new StreamBudget({ ...NO_STREAM_LIMITS, ...access.streams }, access.tenantStreams);
  const page = { bytes: options.budget?.pageBytes ?? DEFAULT_LIMITS.pageBytes, stallMs: options.budget?.pageStallMs ?? DEFAULT_LIMITS.pageStallMs };
  const buffers = new BufferBudget(options.budget?.sseBufferedBytes ?? DEFAULT_LIMITS.sseBufferedBytes);
  metrics.watchStreams(streams, buffers);
  const deps: RouteDeps = { runtime, idempotent: guard, sse: { ...DEFAULT_SSE, ...options.sse }, metrics, lifecycle, streams, buffers, admit, page, webhooks: options.webhooks };

  const app = express();
  app.disable('x-powered-by');
  // Session responses carry their own ETag (the version).
  app.set('etag', false);
  app.use(lifecycle.track);
  app.use(requestLog(logger, { ignore: (path) => path === '/healthz' }));
  app.use(allowHosts(frontDoor));
  app.use(metrics.timeRequests());
  app.use(guardOrigins(frontDoor));

  const api = Router();
  // The API's description is public; everything else needs a key when keys exist.
  openapiRoutes(api, deps);
  api.use(admit);
  // The busiest routes first: a request walks the routes in order until one matches.
  for (const register of [runRoutes, messageRoutes, eventRoutes, sessionRoutes, machineRoutes, webhookRoutes]) register(api, deps);
  api.use(replayOnRace);
  // Answered inside the router, so a failed request keeps its mount path and is labelled like a successful one.
  api.use(errorHandler);
  // The API first: it carries the load; the rest is looked up only when it does not match.
  app.use('/api/v1', api);
  app.use('/langgraph', ...langGraphApi(deps));

  const site = Router();
  for (const register of [serviceRoutes, consoleRoutes]) register(site, deps);
  app.use(site);

  app.use(routeNotFound);
  app.use(errorHandler);
  return app;
}
