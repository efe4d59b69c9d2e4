/**
 * Per-tenant quotas on what is stored: sessions, and the bytes of their logs
 * and transcripts. Checked before a session is created or grows, against
 * usage read from storage and cached for a second, so a burst can pass the
 * quota by at most a second's worth.
 */
import { SessionError } from '../domain/errors.js';
import type { Store, TenantUsage } from '../storage/store.js';

export interface QuotaLimits {
  /** Sessions a tenant may have; 0 for no quota. */
  sessionsPerTenant: number;
  /** Bytes a tenant's sessions may take; 0 for no quota. */
  bytesPerTenant: number;
}

const USAGE_CACHE_MS = 1_000;

export class Quotas {
  private readonly cache = new Map<string, { usage: Promise<TenantUsage>; until: number }>();

  constructor(
    private readonly store: Pick<Store, 'tenantUsage'>,
    private readonly limits: QuotaLimits,
  ) {}

  get enabled(): boolean {
    return this.limits.sessionsPerTenant > 0 || this.limits.bytesPerTenant > 0;
  }

  /** Throws `quota_exceeded` when the tenant may not create another session. */
  async checkNewSession(tenant: string): Promise<void> {
    if (!this.enabled) return;
    const usage = await this.usage(tenant);
    const max = this.limits.sessionsPerTenant;
    if (max > 0 && usage.sessions >= max) {
      throw new SessionError('quota_exceeded', `The tenant has ${usage.sessions} sessions; its quota is ${max}: delete some first`, { quota: 'sessions', limit: max });
    }
    this.checkBytes(usage);
  }

  /** Throws `quota_exceeded` when the tenant's sessions may not grow. */
  async checkGrowth(tenant: string): Promise<void> {
    if (this.limits.bytesPerTenant > 0) this.checkBytes(await this.usage(tenant));
  }

  private checkBytes(usage: TenantUsage): void {
    const max = this.limits.bytesPerTenant;
    if (max > 0 && usage.bytes >= max) {
      throw new SessionError('quota_exceeded', `The tenant's sessions take ${usage.bytes} bytes; its quota is ${max}: delete some first`, {
        quota: 'bytes',
        limit: max,
      });
    }
  }

  private usage(tenant: string): Promise<TenantUsage> {
    const now = Date.now();
    const cached = this.cache.get(tenant);
    if (cached && cached.until > now) return cached.usage;
    const usage = this.store.tenantUsage(tenant);
    if (this.cache.size > 10_000) this.cache.clear();
    this.cache.set(tenant, { usage, until: now + USAGE_CACHE_MS });
    usage.catch(() => this.cache.delete(tenant));
    return usage;
  }
}
