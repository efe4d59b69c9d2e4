/**
 * Hosts one session actor. Every transition's recorded events, plus the new
 * machine state, go to storage together (see SessionWriter), in order, and are
 * published only once durable. Callers `await settled()` before they answer a
 * client, so nobody hears of a change before it is stored.
 *
 * The state lives in two places only: the actor (what happens next) and the
 * writer's durable view (what storage holds, which views show).
 */
import type { Actor, InspectionEvent, Observer } from 'xstate';
import { createActor } from 'xstate';
import { initialContext, type SessionContext, type SessionEmitted, type SessionMachineEvent, type sessionMachine } from '../../machines/session.machine.js';
import type { LogEvent, SessionEvent } from '../domain/events.js';
import { isRunEnding, numbered } from '../domain/events.js';
import { now } from '../domain/ids.js';
import type { LastRun, Message, SessionInfo, SessionState, SessionView } from '../domain/types.js';
import { otherAgent } from '../domain/errors.js';
import type { IdempotencyRecord, LeaseChange, SessionRow, Store, WebhookDelivery } from '../storage/store.js';
import { type Change, type Durable, type MachineState, SessionWriter } from './session-writer.js';
import { decodeSnapshot, encodeSnapshot } from './snapshot.js';
import { sessionView } from './view.js';
import { type RunOutput, RunOutputTracker } from './run-output.js';

export type { RunOutput } from './run-output.js';

export type SessionLogic = typeof sessionMachine;

/** An idle actor's own heap, measured by the benchmarks (about 6 KB), rounded up. */
const ACTOR_OVERHEAD_BYTES = 8 * 1024;

/**
 * The webhook deliveries a transition owes for the run endings among its
 * events, given the machine after it and the run as it stood before it (a
 * message that interrupts a run starts the next one in the same transition).
 */
export type WebhookRenderer = (info: SessionInfo, events: readonly SessionEvent[], machine: MachineState, runBefore: LastRun | null) => WebhookDelivery[];

/** The machine's answer to the command just sent, if any. */
export type Reply = Exclude<SessionEmitted, { type: 'record' }>;

export interface HostDeps {
  store: Store;
  logic: SessionLogic;
  /** This process, as the owner of the runs it starts. */
  instanceId: string;
  leaseMs: number;
  /** Concurrent runs a tenant may have; 0 for no limit. */
  maxRunsPerTenant: number;
  inspect?: Observer<InspectionEvent>;
  /** Set when webhooks are configured: their deliveries join the commit of the run's end. */
  webhooks?: WebhookRenderer;
  /** Changes just made durable, in order. */
  onDurable(host: SessionHost, changes: readonly Change[]): void;
  /** A write failed or the actor crashed: the host is unusable and must be dropped. */
  onBroken(host: SessionHost, error: unknown): void;
}

export class SessionHost {
  readonly id: string;
  private readonly actor: Actor<SessionLogic>;
  private readonly writer: SessionWriter;
  /** Assigned as events are recorded, so order is fixed before they are written. */
  private lastSeqAssigned: number;
  private leaseEpoch: number;
  private records: LogEvent[] = [];
  /** The machine's last run as of the latest transition, for the deliveries of the next one. */
  private runSeen: LastRun | null;
  /** What the run executing here has produced: its reply so far, and its messages. */
  private readonly output = new RunOutputTracker();
  /** Set while recovery sends `run.interrupt`: its commit holds only if the lease has expired. */
  private fenced = false;
  private reply: Reply | null = null;
  private failure: unknown = null;
  private stopped = false;
  /** What the session's fixed attributes take in memory, roughly (a system prompt can be 100 KB). */
  private readonly infoBytes: number;
  /** The session's attributes as its next run sees them; `stored` is what storage holds, which views show. */
  private current: SessionInfo;
  private stored: SessionInfo;
  /** The agent the command being sent gives the session, written with the change it makes. */
  private agentTaken: string | null = null;

  private constructor(
    info: SessionInfo,
    private readonly deps: HostDeps,
    durable: Durable,
    leaseEpoch: number,
  ) {
    this.id = info.id;
    this.current = this.stored = info;
    this.infoBytes = JSON.stringify(info).length;
    this.lastSeqAssigned = durable.lastSeq;
    this.runSeen = durable.context.lastRun;
    this.leaseEpoch = leaseEpoch;
    this.writer = new SessionWriter(info.id, deps.store, durable, (changes) => {
      const agent = changes.findLast((change) => change.agent !== undefined)?.agent;
      if (agent !== undefined) this.stored = { ...this.stored, agent };
      deps.onDurable(this, changes);
    });
    this.writer.snapshotBytes = encodeSnapshot(durable.state, durable.context).length;
    const { logic, inspect } = deps;
    const snapshot = logic.resolveState({ value: durable.state, context: durable.context });
    this.actor = createActor(logic, { input: { sessionId: info.id }, snapshot, inspect, id: info.id });
    this.actor.on('*', (emitted) => {
      if (emitted.type === 'record') this.records.push(emitted.event);
      else this.reply = emitted;
    });
    let seen = durable.state;
    this.actor.subscribe({
      next: (next) => {
        const to = next.value;
        this.afterTransition(seen, to);
        seen = to;
      },
      error: (error) => this.break(error),
    });
    this.actor.start();
  }

  /**
   * A brand-new session: stores it (version 1) with its `session_created` event,
   * and with the response `acknowledge` renders from its view, if given.
   */
  static async create(info: SessionInfo, deps: HostDeps, acknowledge?: (view: SessionView) => IdempotencyRecord): Promise<SessionHost> {
    const durable: Durable = { state: 'idle', context: initialContext(info.id), version: 1, lastSeq: 1, messageCount: 0, updatedAt: info.created_at, leaseOwner: null };
    const event = numbered({ type: 'session_created', at: info.created_at }, 1, info.id);
    const row: SessionRow = {
      info,
      state: 'idle',
      snapshot: encodeSnapshot('idle', durable.context),
      version: 1,
      last_event_seq: 1,
      message_count: 0,
      updated_at: info.created_at,
      lease_owner: null,
      lease_epoch: 0,
    };
    await deps.store.createSession(row, [event], acknowledge?.(sessionView(info, durable)));
    const host = new SessionHost(info, deps, durable, 0);
    deps.onDurable(host, [{ events: [event], messages: [], machine: { state: 'idle', context: durable.context } }]);
    return host;
  }

  /** Rebuilds a host from its stored row. No run is started: a stored `running` session's run lives elsewhere, or died. */
  static hydrate(row: SessionRow, deps: HostDeps): SessionHost {
    const durable: Durable = {
      state: row.state,
      context: decodeSnapshot(row.snapshot).context,
      version: row.version,
      lastSeq: row.last_event_seq,
      messageCount: row.message_count,
      updatedAt: row.updated_at,
      leaseOwner: row.lease_owner,
    };
    return new SessionHost(row.info, deps, durable, row.lease_epoch);
  }

  get info(): SessionInfo {
    return this.current;
  }

  get state(): SessionState {
    return this.actor.getSnapshot().value;
  }

  get runId(): string | null {
    return this.actor.getSnapshot().context.runId;
  }

  /** The machine's context as it stands now, which may be ahead of what is durable. */
  get context(): SessionContext {
    return this.actor.getSnapshot().context;
  }

  get lastSeq(): number {
    return this.lastSeqAssigned;
  }

  get durable(): Durable {
    return this.writer.durable;
  }

  get isStopped(): boolean {
    return this.stopped;
  }

  /** True while this process runs the session's agent. A hydrated `running` session has no run here. */
  get hasLiveRun(): boolean {
    return this.actor.getSnapshot().children.run !== undefined;
  }

  /** A rough measure of the memory this host holds: its attributes, its snapshot, and the actor itself. */
  get estimatedBytes(): number {
    return ACTOR_OVERHEAD_BYTES + this.infoBytes + this.writer.snapshotBytes;
  }

  /** True while the host may not be passivated: a run is active here or writes are in flight. */
  get isBusy(): boolean {
    return this.hasLiveRun || !this.writer.isIdle;
  }

  /**
   * Sends an event and returns the machine's reply to it, synchronously. With
   * `agent`, the session must have that agent; one that has never had a
   * message takes it, in the commit of the change the event makes (a LangGraph
   * thread takes its assistant at its first run).
   */
  send(event: SessionMachineEvent, agent?: string): Reply | null {
    if (this.stopped) throw new Error(`Session ${this.id} is no longer hosted`);
    this.reply = null;
    const before = this.current;
    if (agent !== undefined && agent !== before.agent) this.takeAgent(agent);
    try {
      this.actor.send(event);
    } finally {
      // The event changed nothing: neither does the agent.
      if (this.agentTaken !== null) {
        this.agentTaken = null;
        this.current = before;
      }
    }
    return this.reply;
  }

  /**
   * Records the session's run as interrupted, but only if its lease has expired
   * when the commit lands: an owner that renewed meanwhile keeps its run.
   */
  interruptExpiredRun(at: string): void {
    this.fenced = true;
    try {
      this.send({ type: 'run.interrupt', at });
    } finally {
      this.fenced = false;
    }
  }

  /** Stores `record` with the change the last command queued, in its transaction. False when that command wrote nothing. */
  acknowledge(record: IdempotencyRecord): boolean {
    const change = this.writer.lastPending();
    if (!change) return false;
    (change.idempotency ??= []).push(record);
    return true;
  }

  /** What the run executing here has produced so far; null when no run executes here. */
  get runOutput(): RunOutput | null {
    return this.hasLiveRun ? this.output.of(this.runId) : null;
  }

  /** True when the last command queued a write. */
  get hasPendingWrite(): boolean {
    return this.writer.lastPending() !== undefined;
  }

  /**
   * Appends events reported by a run. Fenced by run id: a superseded or
   * cancelled run's late reports are dropped. Never rejects.
   */
  appendRunEvents(runId: string, events: LogEvent[]): Promise<void> {
    if (this.stopped || this.runId !== runId) return Promise.resolve();
    this.enqueue(events);
    return this.writer.settled().catch(() => undefined);
  }

  /** Resolves once every change so far is durable; rejects if the host broke. */
  async settled(): Promise<void> {
    if (this.failure !== null) throw this.failure;
    await this.writer.settled();
  }

  /** The session as stored: a change still being written is not shown. */
  view(): SessionView {
    return sessionView(this.stored, this.writer.durable);
  }

  /** Stops the actor; a running child is stopped too, which aborts its signal. */
  stop(): void {
    if (this.stopped) return;
    this.stopped = true;
    this.actor.stop();
  }

  private afterTransition(from: SessionState, to: SessionState): void {
    const machine: MachineState = { state: to, context: this.actor.getSnapshot().context };
    const runBefore = this.runSeen;
    this.runSeen = machine.context.lastRun;
    if (this.stopped) return;
    const events = this.records;
    this.records = [];
    if (to !== from) events.push({ type: 'state_changed', at: events.at(-1)?.at ?? now(), from, to });
    if (events.length === 0) return;
    this.enqueue(events, machine, this.leaseChange(from, to), runBefore);
  }

  private takeAgent(agent: string): void {
    const { context } = this;
    const untouched = this.writer.isIdle && this.writer.durable.messageCount === 0 && this.state === 'idle' && context.lastRun === null && context.queue.length === 0;
    if (!untouched) throw otherAgent(this.id, this.current.agent, agent);
    this.current = { ...this.current, agent };
    this.agentTaken = agent;
  }

  /** A run start counts against the tenant's limit of concurrent runs, checked in the same commit. */
  private runLimit(lease: LeaseChange | undefined): Change['runLimit'] {
    const max = this.deps.maxRunsPerTenant;
    return lease && !('release' in lease) && max > 0 ? { tenant: this.info.tenant, max } : undefined;
  }

  /** Entering `running` takes the run's lease in the same commit; leaving it gives the lease back. */
  private leaseChange(from: SessionState, to: SessionState): LeaseChange | undefined {
    if (to === 'running' && from !== 'running') return { owner: this.deps.instanceId, epoch: ++this.leaseEpoch, ttlMs: this.deps.leaseMs };
    if (from === 'running' && to !== 'running') return { release: true };
    return undefined;
  }

  private enqueue(newEvents: LogEvent[], machine?: MachineState, lease?: LeaseChange, runBefore: LastRun | null = null): void {
    const events: SessionEvent[] = newEvents.map((event) => numbered(event, ++this.lastSeqAssigned, this.id));
    // Runs end only in transitions, so only a change with the machine's new state owes deliveries.
    const outbox = machine && this.deps.webhooks && events.some(isRunEnding) ? this.deps.webhooks(this.info, events, machine, runBefore) : [];
    const messages: Message[] = [];
    const removeMessages: string[] = [];
    for (const event of newEvents) {
      if (event.type === 'message_appended') messages.push(event.message);
      else if (event.type === 'messages_removed') removeMessages.push(...event.message_ids);
      this.output.track(event);
    }
    const runLimit = this.runLimit(lease);
    const agent = this.agentTaken;
    this.agentTaken = null;
    this.writer.add({
      events,
      messages,
      ...(machine ? { machine } : {}),
      ...(removeMessages.length > 0 ? { removeMessages } : {}),
      ...(lease ? { lease } : {}),
      ...(runLimit ? { runLimit } : {}),
      ...(this.fenced ? { onlyIfLeaseExpired: true } : {}),
      ...(outbox.length > 0 ? { outbox } : {}),
      ...(agent !== null ? { agent } : {}),
    });
    this.writer.settled().catch((error: unknown) => this.break(error));
  }

  private break(error: unknown): void {
    if (this.failure !== null) return;
    this.failure = error ?? new Error('unknown failure');
    this.stop();
    this.deps.onBroken(this, error);
  }
}
