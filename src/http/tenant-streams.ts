/**
 * A tenant's open event streams counted across instances, through the
 * store's `StreamCounter`. This instance's count of each tenant is known here
 * exactly; every third of `ttlMs` it is written back whole, which keeps it
 * live and heals a close the database missed. When the instance dies, its
 * streams stop counting within `ttlMs`.
 */
import type { Logger } from 'pino';
import type { StreamCounter } from '../storage/store.js';
import type { TenantStreams } from './stream-budget.js';

export interface SharedTenantStreamsOptions {
  instance: string;
  /** How long this instance's counts live without renewal. */
  ttlMs: number;
  logger?: Logger;
}

export class SharedTenantStreams implements TenantStreams {
  /**
   * Streams the database may count for this instance: raised before an open
   * is asked, lowered after a close is done, so a renewal in between never
   * counts fewer than the database does.
   */
  private readonly counts = new Map<string, number>();
  private readonly timer: NodeJS.Timeout;
  private renewing: Promise<void> | null = null;
  /** Whether the database may hold counts of this instance: with none here and none there, a renewal is skipped. */
  private held = false;
  private stopped = false;

  constructor(
    private readonly counter: StreamCounter,
    private readonly options: SharedTenantStreamsOptions,
  ) {
    this.timer = setInterval(() => {
      this.renewing ??= this.renew().finally(() => (this.renewing = null));
    }, Math.max(1, Math.floor(options.ttlMs / 3)));
    this.timer.unref();
  }

  async open(tenant: string, limit: number): Promise<boolean> {
    this.bump(tenant, 1);
    this.held = true;
    try {
      const opened = await this.counter.openStream(tenant, this.options.instance, limit, this.options.ttlMs);
      if (!opened) this.bump(tenant, -1);
      return opened;
    } catch (error) {
      this.bump(tenant, -1);
      throw error;
    }
  }

  close(tenant: string): void {
    // Stopped as the instance shuts down, its storage closing: its rows expire within ttlMs.
    if (this.stopped) return;
    this.counter
      .closeStream(tenant, this.options.instance)
      .catch((err: unknown) => this.options.logger?.warn({ err, tenant }, 'could not count a closed event stream; the next renewal will'))
      .finally(() => this.bump(tenant, -1));
  }

  async stop(): Promise<void> {
    this.stopped = true;
    clearInterval(this.timer);
    await this.renewing;
  }

  private async renew(): Promise<void> {
    if (this.counts.size === 0 && !this.held) return;
    try {
      const counts = new Map(this.counts);
      await this.counter.renewStreams(this.options.instance, counts, this.options.ttlMs);
      this.held = counts.size > 0;
    } catch (err) {
      this.options.logger?.warn({ err }, 'could not renew the count of open event streams; retrying');
    }
  }

  private bump(tenant: string, by: number): void {
    const next = (this.counts.get(tenant) ?? 0) + by;
    if (next <= 0) this.counts.delete(tenant);
    else this.counts.set(tenant, next);
  }
}
