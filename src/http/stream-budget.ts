/**
 * How many event streams may be open at once: in all, per tenant, per session
 * and per client address. A stream over a limit is refused with a JSON error
 * before it opens: 503 `unavailable` when the server as a whole is full, 429
 * `too_many_streams` for one tenant, session or client. A limit of 0 is off.
 */
import { SessionError } from '../domain/errors.js';

export interface StreamLimits {
  total: number;
  perTenant: number;
  perSession: number;
  perClient: number;
}

export interface StreamOwner {
  tenant: string;
  session: string;
  client: string;
}

export class StreamBudget {
  private open = 0;
  private readonly counts = { tenant: new Map<string, number>(), session: new Map<string, number>(), client: new Map<string, number>() };

  constructor(private readonly limits: StreamLimits) {}

  get openStreams(): number {
    return this.open;
  }

  /** Counts a new stream, or throws; returns its release (idempotent). */
  acquire(owner: StreamOwner): () => void {
    const { total, perTenant, perSession, perClient } = this.limits;
    if (total > 0 && this.open >= total) {
      throw new SessionError('unavailable', `The server already serves ${total} event streams; retry later`, { limit: total });
    }
    this.check('tenant', owner.tenant, perTenant, 'This tenant');
    this.check('session', owner.session, perSession, 'This session');
    this.check('client', owner.client, perClient, 'This client address');
    this.open++;
    this.bump('tenant', owner.tenant, 1);
    this.bump('session', owner.session, 1);
    this.bump('client', owner.client, 1);
    let released = false;
    return () => {
      if (released) return;
      released = true;
      this.open--;
      this.bump('tenant', owner.tenant, -1);
      this.bump('session', owner.session, -1);
      this.bump('client', owner.client, -1);
    };
  }

  private check(scope: keyof StreamBudget['counts'], key: string, limit: number, who: string): void {
    if (limit > 0 && (this.counts[scope].get(key) ?? 0) >= limit) {
      throw new SessionError('too_many_streams', `${who} already has ${limit} open event streams; close one first`, { limit, scope });
    }
  }

  private bump(scope: keyof StreamBudget['counts'], key: string, by: number): void {
    const map = this.counts[scope];
    const next = (map.get(key) ?? 0) + by;
    if (next <= 0) map.delete(key);
    else map.set(key, next);
  }
}
