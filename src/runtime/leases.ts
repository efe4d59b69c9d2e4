/**
 * Keeps the leases of the runs executing in this process: renews them every
 * third of their term, in one statement. A run whose lease was taken over is
 * aborted. A lease renewed last at t holds until t + term, and another
 * instance may start the run again after that; so when no renewal has gone
 * through for most of a term (storage unreachable, or a statement that never
 * returns), every local run is aborted first, whatever the renewal under way.
 */
import { within } from '../domain/deadline.js';
import type { RuntimeContext } from './use-cases/context.js';

/** Checked every tenth of a term: the runs stop between 0.8 and 0.9 of a term after the last renewal, before it lapses. */
const ABORT_AFTER = 0.8;
const CHECKS_PER_TERM = 10;

export class LeaseKeeper {
  private timers: NodeJS.Timeout[] = [];
  private renewing: Promise<void> | null = null;
  /** When the last renewal that went through was sent: the leases hold for a term from then. */
  private lastRenewed = Date.now();

  constructor(
    private readonly ctx: RuntimeContext,
    private readonly leaseMs: number,
  ) {}

  start(): void {
    const renew = setInterval(() => {
      this.renewing ??= this.renew().finally(() => (this.renewing = null));
    }, Math.max(1, Math.floor(this.leaseMs / 3)));
    // On its own timer: a renewal that hangs must not hold the deadline off.
    const check = setInterval(() => this.abortIfUnfenced(), Math.max(1, Math.floor(this.leaseMs / CHECKS_PER_TERM)));
    this.timers = [renew, check];
    for (const timer of this.timers) timer.unref();
  }

  /** Waits for a renewal under way, but not past a term: storage that froze must not hold a shutdown up. */
  async stop(): Promise<void> {
    for (const timer of this.timers.splice(0)) clearInterval(timer);
    if (!this.renewing) return;
    // A renewal never rejects: only the wait's end does.
    await within(this.renewing, this.leaseMs).catch(() => undefined);
  }

  private async renew(): Promise<void> {
    const { registry, store, instanceId, logger } = this.ctx;
    const running = this.leasedHere();
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
      logger.warn({ err }, 'could not renew run leases; retrying');
    }
  }

  private abortIfUnfenced(): void {
    if (Date.now() - this.lastRenewed < this.leaseMs * ABORT_AFTER) return;
    const running = this.ctx.registry.runningHere();
    if (running.length === 0) {
      // Nothing to fence: the next renewal starts the count again.
      this.lastRenewed = Date.now();
      return;
    }
    this.ctx.logger.error({ runs: running.length }, 'run leases not renewed in time; aborting the runs executing here before they lapse');
    for (const host of running) this.ctx.registry.evict(host);
  }

  /** The runs executing here whose start (and lease) is durable: a renewal racing the start commit would not find the lease yet. */
  private leasedHere() {
    const { registry, instanceId } = this.ctx;
    return registry
      .runningHere()
      .filter(({ durable, runId }) => durable.leaseOwner === instanceId && durable.context.runId === runId)
      .map((host) => ({ host, runId: host.runId }));
  }
}
