/**
 * The Express app: a factory over a runtime, so tests and library users can
 * mount it anywhere. Middleware per concern, then one API router carrying every
 * session route, then the service and console routes.
 */
import express, { Router, type Express } from 'express';
import type { Logger } from 'pino';
import type { SessionRuntime } from '../runtime/runtime.js';
import type { IdempotencyStore } from '../storage/store.js';
import { jsonBody } from './body.js';
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
import type { SseOptions } from './sse.js';
import { defaultTenant } from './tenant.js';

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
}

export const DEFAULT_SSE: SseOptions = { pingIntervalMs: 15_000, maxBufferedBytes: 4 * 1024 * 1024 };

export function createApp(options: AppOptions): Express {
  const { runtime, logger } = options;
  const metrics = options.metrics ?? new Metrics(runtime);
  const { guard, replayOnRace } = idempotency(options.idempotencyStore, async (req) => {
    if (typeof req.params.id === 'string') await runtime.forTenant(req.tenant).getSession(req.params.id);
  });
  const lifecycle = options.lifecycle ?? new Lifecycle();
  const deps: RouteDeps = { runtime, idempotent: guard, sse: { ...DEFAULT_SSE, ...options.sse }, metrics, lifecycle };

  const app = express();
  app.disable('x-powered-by');
  // Session responses carry their own ETag (the version).
  app.set('etag', false);
  app.use(lifecycle.track);
  app.use(requestLog(logger, { ignore: (path) => path === '/healthz' }));
  app.use(metrics.timeRequests());
  app.use(jsonBody(options.bodyLimitBytes ?? 1024 * 1024));

  const api = Router();
  api.use(defaultTenant);
  for (const register of [sessionRoutes, messageRoutes, runRoutes, eventRoutes, machineRoutes, openapiRoutes]) register(api, deps);
  api.use(replayOnRace);
  // Answered inside the router, so a failed request keeps its mount path and is labelled like a successful one.
  api.use(errorHandler);
  // The API first: it carries the load; the rest is looked up only when it does not match.
  app.use('/api/v1', api);

  const site = Router();
  for (const register of [serviceRoutes, consoleRoutes]) register(site, deps);
  app.use(site);

  app.use(routeNotFound);
  app.use(errorHandler);
  return app;
}
