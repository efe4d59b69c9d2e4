/**
 * The Express app. A factory over a runtime, so tests and library users can
 * mount it anywhere; it owns no state of its own beyond the middleware.
 */
import express, { Router, type Express } from 'express';
import type { Logger } from 'pino';
import { pinoHttp } from 'pino-http';
import type { SessionRuntime } from '../runtime/runtime.js';
import type { Store } from '../storage/store.js';
import { jsonBody } from './body.js';
import { errorHandler, routeNotFound } from './errors.js';
import { idempotency } from './idempotency.js';
import type { Metrics } from './metrics.js';
import { consoleRouter } from './routes/console.js';
import { eventsRoutes } from './routes/events.js';
import { machinesRouter } from './routes/machines.js';
import { serviceRouter } from './routes/service.js';
import { sessionsRoutes } from './routes/sessions.js';
import { turnsRoutes } from './routes/turns.js';
import type { SseOptions } from './sse.js';

export interface AppOptions {
  runtime: SessionRuntime;
  /** Where idempotency records are kept; the runtime's store. */
  store: Store;
  metrics: Metrics;
  logger: Logger;
  /** Largest accepted JSON body, in bytes. */
  bodyLimitBytes: number;
  sse: SseOptions;
}

export function createApp({ runtime, store, metrics, logger, bodyLimitBytes, sse }: AppOptions): Express {
  const app = express();
  app.disable('x-powered-by');
  // Session responses carry their own ETag (the version).
  app.set('etag', false);
  // Request logs only when they would be written: pino-http builds a child logger per request even when silent.
  app.use(
    logger.isLevelEnabled('info')
      ? pinoHttp({ logger, autoLogging: { ignore: (req) => req.url === '/healthz' } })
      : (req, _res, next) => {
          req.log = logger;
          next();
        },
  );
  app.use(metrics.timeRequests());
  app.use(jsonBody(bodyLimitBytes));

  const idempotent = idempotency(store, (req) => (typeof req.params.id === 'string' ? runtime.assertExists(req.params.id) : Promise.resolve()));
  const api = Router();
  sessionsRoutes(api, runtime, idempotent);
  turnsRoutes(api, runtime, idempotent);
  eventsRoutes(api, runtime, sse);
  // Answered inside the router, so a failed request keeps its mount path and is labelled like a successful one.
  api.use(errorHandler);
  // The API first: it carries the load; the rest is looked up only when it does not match.
  app.use('/api/v1', api);
  app.use(serviceRouter(runtime, metrics));

  // Feature routers (console, diagrams) mount here.
  app.use(consoleRouter());
  app.use(machinesRouter(runtime));

  app.use(routeNotFound);
  app.use(errorHandler);
  return app;
}
