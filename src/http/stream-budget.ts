/**
 * How many event streams may be open at once: in all, per tenant, per session
 * and per client address. A stream over a limit is refused with a JSON error
 * before it opens: 503 `unavailable` when the server as a whole is full, 429
 * `too_many_streams` for one tenant, session or client. A limit of 0 is off.
 * The tenant's limit also goes through `TenantStreams` when one is given, so
 * it holds across instances; the others are this instance's own.
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

/** A tenant's streams counted beyond this instance (see SharedTenantStreams). */
export interface TenantStreams {
  /** Counts one more stream of the tenant, unless it already has `limit` open everywhere: then false. */
  open(tenant: string, limit: number): Promise<boolean>;
  close(tenant: string): void;
}

/** What a response is to the budget: it tells when it closes. */
interface Closing {
  once(event: 'close', listener: () => void): unknown;
}

export class StreamBudget {
  private all = 0;
  private readonly counts = { tenant: new Map<string, number>(), session: new Map<string, number>(), client: new Map<string, number>() };

  constructor(
    private readonly limits: StreamLimits,
    private readonly tenants?: TenantStreams,
  ) {}

  get openStreams(): number {
    return this.all;
  }

  /**
   * Counts the response's stream, or throws; resolves with its release
   * (idempotent), which also runs when the response closes, even if that
   * happens while the count is being taken.
   */
  open(owner: StreamOwner, response: Closing): Promise<() => void> {
    const opening = this.acquire(owner);
    response.once('close', () => void opening.then((release) => release(), () => undefined));
    return opening;
  }

  /** Counts a new stream, or throws; resolves with its release (idempotent). */
  private async acquire(owner: StreamOwner): Promise<() => void> {
    const release = this.take(owner);
    const { perTenant } = this.limits;
    if (!this.tenants || perTenant <= 0) return release;
    let opened: boolean;
    try {
      opened = await this.tenants.open(owner.tenant, perTenant);
    } catch (error) {
      release();
      throw error;
    }
    if (!opened) {
      release();
      throw tooManyStreams('This tenant', perTenant, 'tenant');
    }
    let closed = false;
    return () => {
      if (closed) return;
      closed = true;
      release();
      this.tenants?.close(owner.tenant);
    };
  }

  /** Counts a new stream here, or throws. */
  private take(owner: StreamOwner): () => void {
    const { total, perTenant, perSession, perClient } = this.limits;
    if (total > 0 && this.all >= total) {
      throw new SessionError('unavailable', `The server already serves ${total} event streams; retry later`, { limit: total });
    }
    this.check('tenant', owner.tenant, perTenant, 'This tenant');
    this.check('session', owner.session, perSession, 'This session');
    this.check('client', owner.client, perClient, 'This client address');
    this.all++;
    this.bump('tenant', owner.tenant, 1);
    this.bump('session', owner.session, 1);
    this.bump('client', owner.client, 1);
    let released = false;
    return () => {
      if (released) return;
      released = true;
      this.all--;
      this.bump('tenant', owner.tenant, -1);
      this.bump('session', owner.session, -1);
      this.bump('client', owner.client, -1);
    };
  }

  private check(scope: keyof StreamBudget['counts'], key: string, limit: number, who: string): void {
    if (limit > 0 && (this.counts[scope].get(key) ?? 0) >= limit) throw tooManyStreams(who, limit, scope);
  }

  private bump(scope: keyof StreamBudget['counts'], key: string, by: number): void {
    const map = this.counts[scope];
    const next = (map.get(key) ?? 0) + by;
    if (next <= 0) map.delete(key);
    else map.set(key, next);
  }
}

function tooManyStreams(who: string, limit: number, scope: string): SessionError {
  return new SessionError('too_many_streams', `${who} already has ${limit} open event streams; close one first`, { limit, scope });
}
