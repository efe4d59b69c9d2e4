/**
 * Requests per minute per tenant, with express-rate-limit: `RateLimit-*`
 * headers as in the IETF draft, `Retry-After` and a `rate_limited` error when
 * over. Its store is in memory for one process; a shared one (PostgreSQL)
 * makes the limit hold across instances.
 */
import type { RequestHandler } from 'express';
import { rateLimit, type Store } from 'express-rate-limit';
import { SessionError } from '../domain/errors.js';

export const RATE_WINDOW_MS = 60_000;

export function tenantRateLimit(perMinute: number, store?: Store): RequestHandler {
  return rateLimit({
    windowMs: RATE_WINDOW_MS,
    limit: perMinute,
    standardHeaders: 'draft-6',
    legacyHeaders: false,
    keyGenerator: (req) => req.tenant,
    ...(store ? { store } : {}),
    handler: (_req, res, next) => {
      const retryAfter = res.getHeader('Retry-After');
      next(new SessionError('rate_limited', `More than ${perMinute} requests a minute for this tenant; retry in ${String(retryAfter ?? 60)} s`, { limit: perMinute }));
    },
  });
}
