/**
 * The one way to a session actor: get it live, or hydrate it from storage.
 * Live hosts are kept in least-recently-used order and passivated (stopped and
 * dropped; their state is already stored) beyond `maxLive`, so memory follows
 * active sessions, not stored ones.
 */
import type { Logger } from 'pino';
import { now } from '../domain/ids.js';
import type { SessionInfo, SessionView } from '../domain/types.js';
import type { IdempotencyRecord, Store } from '../storage/store.js';
import { IdempotencyKeyTaken, StorageUnavailable, TooManyRuns, VersionConflict } from '../storage/store.js';
import type { HostDeps } from './session-host.js';
import { SessionHost } from './session-host.js';

export interface RegistryOptions {
  store: Store;
  hostDeps: Omit<HostDeps, 'onBroken'>;
  maxLive: number;
  /** The live hosts' estimated memory before the least recently used idle ones are passivated. */
  maxLiveBytes: number;
  logger: Logger;
  /** This process's run was cut off by failing storage under its host. */
  onRunCutOff?(sessionId: string): void;
}

export class SessionRegistry {
  /** Insertion order is recency: a touched host is moved to the end. */
  private readonly live = new Map<string, SessionHost>();
  private readonly loading = new Map<string, Promise<SessionHost | null>>();
  /** Sessions being deleted: never hydrated again. */
  private readonly deleting = new Set<string>();
  private readonly repairing = new Set<string>();
  private sweepScheduled = false;
  private hydrated = 0;
  /** Estimated bytes of the live hosts, each counted as it was when admitted. */
  private liveBytes = 0;
  private readonly admittedBytes = new WeakMap<SessionHost, number>();
  private readonly deps: HostDeps;

  constructor(private readonly options: RegistryOptions) {
    this.deps = {
      ...options.hostDeps,
      onBroken: (host, error) => this.onBroken(host, error),
      onDurable: (host, changes) => {
        options.hostDeps.onDurable(host, changes);
        // A finished run may leave more live actors than the cap; without this they stay until the next hydration.
        if (changes.some((change) => change.lease && 'release' in change.lease)) this.schedulePassivation();
      },
    };
  }

  async create(info: SessionInfo, acknowledge?: (view: SessionView) => IdempotencyRecord): Promise<SessionHost> {
    const host = await SessionHost.create(info, this.deps, acknowledge);
    this.admit(host);
    return host;
  }

  /** The live host, hydrating it if needed; null when no such session exists. */
  async get(id: string): Promise<SessionHost | null> {
    if (this.deleting.has(id)) return null;
    const host = this.live.get(id);
    if (host) {
      this.live.delete(id);
      this.live.set(id, host);
      return host;
    }
    let loading = this.loading.get(id);
    if (!loading) {
      loading = this.hydrate(id).finally(() => this.loading.delete(id));
      this.loading.set(id, loading);
    }
    return loading;
  }

  /** The live host, without hydrating. */
  peek(id: string): SessionHost | undefined {
    return this.live.get(id);
  }

  hosts(): SessionHost[] {
    return [...this.live.values()];
  }

  /** Hosts whose run executes in this process. */
  runningHere(): SessionHost[] {
    return this.hosts().filter((host) => host.hasLiveRun);
  }

  get liveCount(): number {
    return this.live.size;
  }

  /** Sessions brought back from storage so far. */
  get hydrations(): number {
    return this.hydrated;
  }

  /** Estimated memory of the live hosts. */
  get bytes(): number {
    return this.liveBytes;
  }

  /** Drops a host whose state may be stale (another process wrote the session); the next `get` reloads it. */
  evict(host: SessionHost): void {
    this.drop(host);
    host.stop();
  }

  /** Drops a host for good; `get` answers null until `forget`. */
  retire(host: SessionHost): void {
    this.deleting.add(host.id);
    this.evict(host);
  }

  forget(id: string): void {
    this.deleting.delete(id);
  }

  stopAll(): void {
    for (const host of this.live.values()) host.stop();
    this.live.clear();
    this.liveBytes = 0;
  }

  private async hydrate(id: string): Promise<SessionHost | null> {
    const row = await this.options.store.loadSession(id);
    if (!row || this.deleting.has(id)) return null;
    const current = this.live.get(id);
    if (current) return current;
    const host = SessionHost.hydrate(row, this.deps);
    this.hydrated++;
    this.admit(host);
    return host;
  }

  private admit(host: SessionHost): void {
    this.live.set(host.id, host);
    const bytes = host.estimatedBytes;
    this.admittedBytes.set(host, bytes);
    this.liveBytes += bytes;
    this.schedulePassivation();
  }

  /** Removes a host from the live set, if it is there. */
  private drop(host: SessionHost): void {
    if (this.live.get(host.id) !== host) return;
    this.live.delete(host.id);
    this.liveBytes -= this.admittedBytes.get(host) ?? 0;
  }

  private overCap(): boolean {
    return this.live.size > this.options.maxLive || this.liveBytes > this.options.maxLiveBytes;
  }

  /**
   * Passivation waits for the next turn of the event loop: a host just admitted
   * is on its way to a caller that has yet to send it its event. Passivated at
   * once (as happens when running sessions fill the cap), every such caller
   * would fetch it again, and again, starving the event loop.
   */
  private schedulePassivation(): void {
    if (this.sweepScheduled || !this.overCap()) return;
    this.sweepScheduled = true;
    setImmediate(() => {
      this.sweepScheduled = false;
      this.passivateExcess();
    });
  }

  private passivateExcess(): void {
    for (const host of [...this.live.values()]) {
      if (!this.overCap()) break;
      if (host.isBusy) continue;
      this.drop(host);
      host.stop();
    }
  }

  /**
   * A host whose write failed or whose actor crashed is dropped; storage holds
   * the last good state. A lost race (another process wrote first) needs no
   * more: the next command reloads. Otherwise, if this process was running the
   * session's run, that run is over and is recorded failed.
   */
  private onBroken(host: SessionHost, error: unknown): void {
    this.drop(host);
    // A lost race (for the version, or for an Idempotency-Key, whose request is replayed) or a run over its tenant's
    // limit wrote nothing: the next command reloads.
    if (error instanceof VersionConflict || error instanceof IdempotencyKeyTaken || error instanceof TooManyRuns) return;
    // Failing storage is one incident, logged once; a run of this process cut off by it is recorded once storage answers.
    if (error instanceof StorageUnavailable) {
      const { state, leaseOwner } = host.durable;
      if (state === 'running' && leaseOwner === this.deps.instanceId) this.options.onRunCutOff?.(host.id);
      return;
    }
    const { logger } = this.options;
    logger.error({ err: error, session_id: host.id }, 'session actor failed; dropping it');
    // One repair at a time: if storage itself is failing, the repair breaks too and must not loop.
    if (this.deleting.has(host.id) || this.repairing.has(host.id)) return;
    this.repairing.add(host.id);
    const reason = `The session's actor failed: ${error instanceof Error ? error.message : String(error)}`;
    void (async () => {
      try {
        const repaired = await this.get(host.id);
        if (repaired?.state === 'running' && repaired.durable.leaseOwner === this.deps.instanceId) {
          repaired.send({ type: 'run.fail', error: reason, at: now() });
        }
        await repaired?.settled();
      } catch (repairError) {
        logger.error({ err: repairError, session_id: host.id }, 'could not repair session');
      } finally {
        this.repairing.delete(host.id);
      }
    })();
  }
}
