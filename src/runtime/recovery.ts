/**
 * Runs cut off by a crash, a shutdown or a lost lease: found in storage,
 * recorded `interrupted` exactly once (the commit is fenced on the lease having
 * expired, and on the version), their user turn kept. At start-up and then
 * continuously, so any process notices another one's death.
 */
import { now } from '../domain/ids.js';
import { StorageUnavailable } from '../storage/store.js';
import { onSession, SYSTEM, type RuntimeContext } from './use-cases/context.js';
import { resumeSession } from './use-cases/turns.js';

/** How often a run cut off by failing storage is tried again to be recorded interrupted. */
const RECLAIM_EVERY_MS = 500;

export interface RecoveryOptions {
  /** Resume interrupted sessions by themselves. */
  resumeInterrupted: boolean;
  /** How often storage is searched for expired leases. */
  intervalMs: number;
  /** How long a run's lease lasts: past it, any process's sweep finds the run. */
  leaseMs: number;
  /** A free session with messages queued: its queue should move. */
  moveQueue(sessionId: string): void;
}

export class Recovery {
  private timer: NodeJS.Timeout | null = null;
  private sweeping: Promise<unknown> | null = null;
  private readonly reclaiming = new Set<string>();

  constructor(
    private readonly ctx: RuntimeContext,
    private readonly options: RecoveryOptions,
  ) {}

  /**
   * Interrupts the runs no process runs any more. A store only this process
   * uses holds no live run at start; on a shared one, only expired leases are
   * touched. With `resumeInterrupted`, interrupted sessions (by a crash or a
   * shutdown) are resumed. Returns the ids it interrupted.
   */
  async atStart(): Promise<string[]> {
    const { store } = this.ctx;
    const dead = store.shared ? await store.expiredRuns() : await store.runningSessions();
    const interrupted = await this.interrupt(dead, !store.shared);
    if (interrupted.length > 0) this.ctx.logger.warn({ sessions: interrupted.length }, 'recorded interrupted runs');
    if (this.options.resumeInterrupted) await this.resumeAll(await store.interruptedSessions());
    await this.moveQueues();
    return interrupted;
  }

  /** Sweeps for expired leases every `intervalMs` until `stop`. */
  start(): void {
    this.timer = setInterval(() => {
      this.sweeping ??= this.sweep().finally(() => (this.sweeping = null));
    }, this.options.intervalMs);
    this.timer.unref();
  }

  async stop(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    await this.sweeping;
  }

  /**
   * A run of this process cut off by failing storage (its host broke on a
   * write): recorded interrupted as soon as storage answers again, rather
   * than once its lease lapses, and resumed with `resumeInterrupted`. Tried
   * for a lease at most: past it, any process's sweep finds the run.
   */
  reclaim(id: string): void {
    if (this.timer === null || this.reclaiming.has(id)) return;
    this.reclaiming.add(id);
    const until = Date.now() + this.options.leaseMs;
    const attempt = async (): Promise<void> => {
      const outcome = await onSession(this.ctx, SYSTEM, id, (host) => {
        // Still this process's run, as storage holds it: nobody else has taken it over or recorded it.
        if (host.state !== 'running' || host.hasLiveRun || host.durable.leaseOwner !== this.ctx.instanceId) return 'moot';
        host.send({ type: 'run.interrupt', at: now() });
        return 'interrupted';
      }).catch((err: unknown) => (err instanceof StorageUnavailable && this.timer !== null && Date.now() < until ? 'retry' : 'moot'));
      if (outcome === 'retry') {
        setTimeout(() => void attempt(), RECLAIM_EVERY_MS).unref();
        return;
      }
      this.reclaiming.delete(id);
      if (outcome !== 'interrupted') return;
      this.ctx.logger.warn({ session_id: id }, 'recorded a run cut off by failing storage as interrupted');
      if (this.options.resumeInterrupted) await this.resumeAll([id]);
    };
    setTimeout(() => void attempt(), RECLAIM_EVERY_MS).unref();
  }

  private async sweep(): Promise<void> {
    try {
      const expired = await this.ctx.store.expiredRuns();
      // Runs executing here renew their leases; an expired one is being dropped by the lease keeper.
      const dead = expired.filter((id) => !this.ctx.registry.peek(id)?.hasLiveRun);
      const interrupted = await this.interrupt(dead, false);
      if (interrupted.length > 0) {
        this.ctx.logger.warn({ sessions: interrupted }, 'recorded runs whose lease expired as interrupted');
        if (this.options.resumeInterrupted) await this.resumeAll(interrupted);
      }
      await this.moveQueues();
    } catch (err) {
      this.ctx.logger.warn({ err }, 'recovery sweep failed; retrying');
    }
  }

  /** Queues left behind (a crash between a run's end and the next queued message): moved now. */
  private async moveQueues(): Promise<void> {
    for (const id of await this.ctx.store.queuedSessions()) this.options.moveQueue(id);
  }

  private async interrupt(ids: readonly string[], unfenced: boolean): Promise<string[]> {
    const done: string[] = [];
    for (const id of ids) {
      const interrupted = await onSession(this.ctx, SYSTEM, id, (host) => {
        if (host.state !== 'running' || host.hasLiveRun) return false;
        if (unfenced) host.send({ type: 'run.interrupt', at: now() });
        else host.interruptExpiredRun(now());
        return true;
      }).catch((err: unknown) => {
        this.ctx.logger.debug({ err, session_id: id }, 'run not interrupted');
        return false;
      });
      if (interrupted) done.push(id);
    }
    return done;
  }

  private async resumeAll(ids: readonly string[]): Promise<void> {
    for (const id of ids) {
      const result = await resumeSession(this.ctx, SYSTEM, id).catch((err: unknown) => {
        this.ctx.logger.warn({ err, session_id: id }, 'could not resume an interrupted session');
        return null;
      });
      if (result?.outcome === 'Started') this.ctx.logger.info({ session_id: id, run_id: result.run_id }, 'resumed an interrupted session');
    }
  }
}
