/**
 * Keeps the leases of the runs executing in this process: renews them every
 * third of their term, in one statement. A run whose lease was taken over is
 * aborted; if renewals keep failing for a whole term (storage unreachable),
 * every local run is aborted rather than left running unfenced.
 */
import type { RuntimeContext } from './use-cases/context.js';

export class LeaseKeeper {
  private timer: NodeJS.Timeout | null = null;
  private renewing: Promise<void> | null = null;
  private lastRenewed = Date.now();

  constructor(
    private readonly ctx: RuntimeContext,
    private readonly leaseMs: number,
  ) {}

  start(): void {
    this.timer = setInterval(() => {
      this.renewing ??= this.renew().finally(() => (this.renewing = null));
    }, Math.max(1, Math.floor(this.leaseMs / 3)));
    this.timer.unref();
  }

  async stop(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    await this.renewing;
  }

  private async renew(): Promise<void> {
    const { registry, store, instanceId, logger } = this.ctx;
    // Only runs whose start (and lease) is durable: a renewal racing the start commit would not find the lease yet.
    const running = registry
      .runningHere()
      .filter(({ durable, runId }) => durable.leaseOwner === instanceId && durable.context.runId === runId)
      .map((host) => ({ host, runId: host.runId }));
    const attempted = Date.now();
    try {
      const held = new Set(await store.renewLeases(instanceId, running.map(({ host }) => host.id), this.leaseMs));
      this.lastRenewed = attempted;
      for (const { host, runId } of running) {
        // A run that ended while the renewal was under way gave its lease back itself; one that started since has its own.
        if (held.has(host.id) || !host.hasLiveRun || host.runId !== runId) continue;
        logger.warn({ session_id: host.id, run_id: host.runId }, 'lost the lease of a run; aborting it');
        registry.evict(host);
      }
    } catch (err) {
      if (Date.now() - this.lastRenewed < this.leaseMs) {
        logger.warn({ err }, 'could not renew run leases; retrying');
        return;
      }
      logger.error({ err, runs: running.length }, 'run leases expired without renewal; aborting the runs executing here');
      for (const { host } of running) registry.evict(host);
    }
  }
}
