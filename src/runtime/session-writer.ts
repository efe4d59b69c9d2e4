/**
 * Writes one session's changes in order. What one turn of the event loop
 * made goes out as one write, and while a write is in flight, later changes
 * gather and go out together as the next: a burst of tokens costs one commit,
 * not one each. A change is acknowledged only once durable.
 */
import type { SessionContext } from '../../machines/session.machine.js';
import type { SessionEvent } from '../domain/events.js';
import { now } from '../domain/ids.js';
import type { Message, SessionState } from '../domain/types.js';
import type { Commit, IdempotencyRecord, LeaseChange, Store, WebhookDelivery } from '../storage/store.js';
import { encodeSnapshot } from './snapshot.js';

/** Where the machine stands after a transition. */
export interface MachineState {
  state: SessionState;
  context: SessionContext;
}

export interface Change {
  events: SessionEvent[];
  messages: Message[];
  /** The machine's new state, when it moved. */
  machine?: MachineState;
  /** Messages leaving the transcript (a rollback). */
  removeMessages?: string[];
  lease?: LeaseChange;
  runLimit?: Commit['runLimit'];
  onlyIfLeaseExpired?: boolean;
  idempotency?: IdempotencyRecord[];
  /** Webhook deliveries for the run endings among `events`. */
  outbox?: WebhookDelivery[];
  /** The session takes this agent (see SessionHost.send). */
  agent?: string;
}

/** What storage holds; views show only this, so nobody hears of a change before it is durable. */
export interface Durable extends MachineState {
  version: number;
  lastSeq: number;
  messageCount: number;
  updatedAt: string;
  /** The instance running the session's active run. */
  leaseOwner: string | null;
}

export class SessionWriter {
  private pending: Change[] = [];
  /** The size of the last snapshot written, for the host's memory estimate. */
  snapshotBytes = 0;
  private flushing: Promise<void> | null = null;

  constructor(
    private readonly sessionId: string,
    private readonly store: Store,
    private durableState: Durable,
    private readonly onDurable: (changes: readonly Change[]) => void,
  ) {}

  get durable(): Durable {
    return this.durableState;
  }

  get isIdle(): boolean {
    return this.flushing === null;
  }

  add(change: Change): void {
    this.pending.push(change);
    this.flushing ??= this.flush();
  }

  /** The change queued last and not yet being written, to attach an acknowledgement to. */
  lastPending(): Change | undefined {
    return this.pending.at(-1);
  }

  /** Resolves once every change added so far is durable; rejects if a write failed. */
  settled(): Promise<void> {
    return this.flushing ?? Promise.resolve();
  }

  private async flush(): Promise<void> {
    try {
      // Let the rest of this turn of the event loop join the write: a command's several events, a burst of tokens,
      // and a run's end, which reaches the machine some promise callbacks after the run's last tokens.
      await new Promise((resolve) => setImmediate(resolve));
      while (this.pending.length > 0) {
        const batch = this.nextBatch();
        const commit = this.merge(batch);
        await this.store.commit(commit);
        this.durableState = this.advance(batch, commit);
        this.onDurable(batch);
      }
    } finally {
      this.flushing = null;
    }
  }

  /**
   * The changes to write together: all that wait, but never two lease changes
   * in one commit. A run's end gives its lease back and the next run's start
   * takes it; the store counts each (running runs per tenant), so neither may
   * hide behind the other.
   */
  private nextBatch(): Change[] {
    let end = 0;
    for (let leases = 0; end < this.pending.length; end++) {
      if (this.pending[end]!.lease && ++leases > 1) break;
    }
    return this.pending.splice(0, end);
  }

  private merge(batch: readonly Change[]): Commit {
    const machine = batch.findLast((change) => change.machine)?.machine;
    const data = machine ? encodeSnapshot(machine.state, machine.context) : undefined;
    if (data) this.snapshotBytes = data.length;
    const lease = batch.findLast((change) => change.lease)?.lease;
    const runLimit = batch.find((change) => change.runLimit)?.runLimit;
    const idempotency = batch.flatMap((change) => change.idempotency ?? []);
    const removeMessages = batch.flatMap((change) => change.removeMessages ?? []);
    const outbox = batch.flatMap((change) => change.outbox ?? []);
    const agent = batch.findLast((change) => change.agent !== undefined)?.agent;
    return {
      sessionId: this.sessionId,
      expectedVersion: this.durableState.version,
      updatedAt: now(),
      ...(machine && data
        ? { snapshot: { state: machine.state, data, lastRunStatus: machine.context.lastRun?.status ?? null, queued: machine.context.queue.length } }
        : {}),
      events: batch.flatMap((change) => change.events),
      messages: batch.flatMap((change) => change.messages),
      ...(removeMessages.length > 0 ? { removeMessages } : {}),
      ...(lease ? { lease } : {}),
      ...(runLimit ? { runLimit } : {}),
      ...(batch.some((change) => change.onlyIfLeaseExpired) ? { onlyIfLeaseExpired: true } : {}),
      ...(idempotency.length > 0 ? { idempotency } : {}),
      ...(outbox.length > 0 ? { outbox } : {}),
      ...(agent !== undefined ? { agent } : {}),
    };
  }

  private advance(batch: readonly Change[], commit: Commit): Durable {
    const machine = batch.findLast((change) => change.machine)?.machine;
    return {
      ...this.durableState,
      ...machine,
      version: this.durableState.version + 1,
      lastSeq: commit.events.at(-1)?.seq ?? this.durableState.lastSeq,
      messageCount: this.durableState.messageCount + commit.messages.length - (commit.removeMessages?.length ?? 0),
      updatedAt: commit.updatedAt,
      leaseOwner: commit.lease ? ('release' in commit.lease ? null : commit.lease.owner) : this.durableState.leaseOwner,
    };
  }
}
