/**
 * Requests per minute per tenant, with express-rate-limit: `RateLimit-*`
 * headers as in the IETF draft, `Retry-After` and a `rate_limited` error when
 * over. Counted in memory for one process; through the storage's
 * `RequestCounter` (PostgreSQL) the limit holds across instances.
 */
import type { RequestHandler } from 'express';
import { type ClientRateLimitInfo, type Options, rateLimit, type Store } from 'express-rate-limit';
import { SessionError } from '../domain/errors.js';
import type { RequestCounter } from '../storage/store.js';

export const RATE_WINDOW_MS = 60_000;

/** express-rate-limit's store over a shared counter: every instance counts into the same windows. */
export class SharedRateLimitStore implements Store {
  private windowMs = RATE_WINDOW_MS;
  // Counts in memory would be exact only per instance; these are the database's.
  readonly localKeys = false;
  readonly prefix = 'rate:';

  constructor(private readonly counter: RequestCounter) {}

  init(options: Options): void {
    this.windowMs = options.windowMs;
  }

  async increment(key: string): Promise<ClientRateLimitInfo> {
    const { hits, resetAt } = await this.counter.countRequest(this.prefix + key, this.windowMs);
    return { totalHits: hits, resetTime: new Date(resetAt) };
  }

  async decrement(key: string): Promise<void> {
    await this.counter.uncountRequest(this.prefix + key);
  }

  async resetKey(key: string): Promise<void> {
    await this.counter.resetRequests(this.prefix + key);
  }
}


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
