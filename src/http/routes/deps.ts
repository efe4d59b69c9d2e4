/** The one shape of the route modules: each registers its resource's routes on the router it is given. */
import type { Request, RequestHandler, Router } from 'express';
import type { SessionRuntime, TenantSessions } from '../../runtime/runtime.js';
import type { BufferBudget } from '../buffer-budget.js';
import type { Lifecycle } from '../lifecycle.js';
import type { StreamBudget } from '../stream-budget.js';
import type { Metrics } from '../metrics.js';
import type { SseOptions } from '../sse.js';
import type { WebhookDeliveries } from '../../webhooks/deliveries.js';

/** What the route modules share. */
export interface RouteDeps {
  runtime: SessionRuntime;
  /** `Idempotency-Key` handling, for the routes that create or change. */
  idempotent: RequestHandler;
  sse: SseOptions;
  metrics: Metrics;
  lifecycle: Lifecycle;
  streams: StreamBudget;
  buffers: BufferBudget;
  /** One page of events or messages: its byte budget, and how long a client may leave part of it unread. */
  page: { bytes: number; stallMs: number };
  /**
   * The front of every route that needs a key, in order: the key check (when
   * keys exist; it sets the request's tenant), the tenant's rate limit, then
   * the JSON body, so a request without a valid key is refused unread.
   */
  admit: RequestHandler[];
  /** The webhook deliveries' list and retry; without it those routes are not served. */
  webhooks?: WebhookDeliveries;
}

/** Every route module has this shape: it registers its resource's routes on the router it is given. */
export type RegisterRoutes = (router: Router, deps: RouteDeps) => void;

/** The use cases as the request's tenant sees them. */
export function sessionsFor(runtime: SessionRuntime, req: Request): TenantSessions {
  return runtime.forTenant(req.tenant);
}
