/**
 * Hosts one session actor. Every transition's recorded events, plus the new
 * snapshot, go to storage together (see SessionWriter), in order, and are
 * broadcast only once durable. Callers `await settled()` before they answer a
 * client, so nobody hears of a change before it is stored.
 */
import type { Actor, InspectionEvent, Observer } from 'xstate';
import { createActor } from 'xstate';
import type { SessionContext, SessionMachineEvent, SessionEmitted, sessionMachine } from '../../machines/session.machine.js';
import type { Message, NewEvent, SessionEvent, SessionInfo, SessionState, SessionView } from '../domain/types.js';
import { now } from '../domain/ids.js';
import type { SessionRow, Store } from '../storage/store.js';
import type { EventBus } from './event-bus.js';
import { type Change, SessionWriter } from './session-writer.js';
import { decodeSnapshot, encodeSnapshot } from './snapshot.js';
import { sessionView } from './view.js';

export type SessionLogic = typeof sessionMachine;

/** The reply a command drew from the machine, if any. */
export type Reply = Exclude<SessionEmitted, { type: 'record' }>;

export interface HostDeps {
  store: Store;
  bus: EventBus;
  logic: SessionLogic;
  inspect?: Observer<InspectionEvent>;
  /** A durable state change, for the session index. */
  onMoved(from: SessionState | undefined, to: SessionState): void;
  /** Events just made durable, for metrics. */
  onAppended(events: readonly SessionEvent[]): void;
  /** A write failed or the actor crashed: the host is unusable and must be dropped. */
  onBroken(host: SessionHost, error: unknown): void;
}

interface Stored {
  state: SessionState;
  /** The encoded snapshot; absent for a new session. */
  data?: string;
  version: number;
  lastSeq: number;
  messageCount: number;
  updatedAt: string;
}

export class SessionHost {
  readonly id: string;
  private readonly actor: Actor<SessionLogic>;
  private readonly writer: SessionWriter;
  private state: SessionState;
  /** Assigned as events are recorded, so order is fixed before they are written. */
  private lastSeqAssigned: number;
  private records: NewEvent[] = [];
  private reply: Reply | null = null;
  private failure: unknown = null;
  private stopped = false;
  /** What storage holds, for views: nobody is shown a change before it is durable. */
  private durable: { state: SessionState; context: SessionContext; lastSeq: number; messageCount: number };

  private constructor(
    readonly info: SessionInfo,
    private readonly deps: HostDeps,
    persisted: Stored,
  ) {
    this.id = info.id;
    this.state = persisted.state;
    this.lastSeqAssigned = persisted.lastSeq;
    this.writer = new SessionWriter(info.id, deps.store, persisted.version, persisted.updatedAt, (changes) => this.published(changes));
    const { logic, inspect } = deps;
    const snapshot = persisted.data
      ? logic.resolveState({ value: persisted.state, context: decodeSnapshot(persisted.data).context })
      : undefined;
    this.actor = createActor(logic, { input: { sessionId: info.id }, snapshot, inspect, id: info.id });
    this.actor.on('*', (emitted) => {
      if (emitted.type === 'record') this.records.push(emitted.event);
      else this.reply = emitted;
    });
    this.actor.subscribe({
      next: () => this.afterTransition(),
      error: (error) => this.break(error),
    });
    this.actor.start();
    this.durable = { state: this.state, context: this.actor.getSnapshot().context, lastSeq: persisted.lastSeq, messageCount: persisted.messageCount };
  }

  /** A brand-new session: stores it (version 1) with its `session_created` event. */
  static async create(info: SessionInfo, deps: HostDeps): Promise<SessionHost> {
    const stored = { state: 'idle', version: 1, lastSeq: 1, messageCount: 0, updatedAt: info.created_at } as const;
    const host = new SessionHost(info, deps, stored);
    const event: SessionEvent = { seq: 1, type: 'session_created', session_id: info.id, at: info.created_at };
    await deps.store.createSession(
      { info, state: stored.state, snapshot: host.encode(), version: 1, last_event_seq: 1, message_count: 0, updated_at: info.created_at },
      [event],
    );
    host.published([{ events: [event], messages: [], move: { from: undefined, to: stored.state } }]);
    return host;
  }

  /** Rebuilds a host from its stored row. No run is started: a stored `running` session has no live run here. */
  static hydrate(row: SessionRow, deps: HostDeps): SessionHost {
    return new SessionHost(row.info, deps, {
      state: row.state,
      data: row.snapshot,
      version: row.version,
      lastSeq: row.last_event_seq,
      messageCount: row.message_count,
      updatedAt: row.updated_at,
    });
  }

  get currentState(): SessionState {
    return this.state;
  }

  get runId(): string | null {
    return this.actor.getSnapshot().context.runId;
  }

  get lastSeq(): number {
    return this.lastSeqAssigned;
  }

  get isStopped(): boolean {
    return this.stopped;
  }

  /** True while the host may not be passivated: a run is active or writes are in flight. */
  get isBusy(): boolean {
    return this.state === 'running' || !this.writer.isIdle;
  }

  /** Sends an event and returns the machine's reply to it, synchronously. */
  send(event: SessionMachineEvent): Reply | null {
    if (this.stopped) throw new Error(`Session ${this.id} is no longer hosted`);
    this.reply = null;
    this.actor.send(event);
    return this.reply;
  }

  /**
   * Appends events reported by a run. Fenced by run id: a superseded or
   * cancelled run's late reports are dropped. Never rejects.
   */
  appendRunEvents(runId: string, events: NewEvent[]): Promise<void> {
    if (this.stopped || this.runId !== runId) return Promise.resolve();
    return this.enqueue(events);
  }

  /** Resolves once every change so far is durable; rejects if the host broke. */
  async settled(): Promise<void> {
    if (this.failure !== null) throw this.failure;
    await this.writer.settled();
  }

  /** The session as stored: a change still being written is not shown. */
  view(): SessionView {
    const { state, context, lastSeq, messageCount } = this.durable;
    return sessionView(this.info, state, context, {
      version: this.writer.version,
      last_event_seq: lastSeq,
      message_count: messageCount,
      updated_at: this.writer.updatedAt,
    });
  }

  /** Stops the actor; a running child is stopped too, which aborts its signal. */
  stop(): void {
    if (this.stopped) return;
    this.stopped = true;
    this.actor.stop();
  }

  private encode(): string {
    return encodeSnapshot(this.state, this.actor.getSnapshot().context);
  }

  private afterTransition(): void {
    if (this.stopped) return;
    try {
      const to = this.actor.getSnapshot().value as SessionState;
      const events = this.records;
      this.records = [];
      if (to !== this.state) {
        events.push({ type: 'state_changed', at: events.at(-1)?.at ?? now(), from: this.state, to });
      }
      if (events.length === 0) return;
      const from = this.state;
      this.state = to;
      void this.enqueue(events, { state: to, data: this.encode() }, from);
    } catch (error) {
      this.break(error);
    }
  }

  private enqueue(newEvents: NewEvent[], snapshot?: { state: SessionState; data: string }, from?: SessionState): Promise<void> {
    const events: SessionEvent[] = newEvents.map(({ type, ...fields }) => ({ seq: ++this.lastSeqAssigned, type, session_id: this.id, ...fields }));
    const messages = newEvents.flatMap((event) => (event.type === 'message_appended' ? [event.message as Message] : []));
    const move = snapshot && from !== undefined && from !== snapshot.state ? { from, to: snapshot.state } : undefined;
    const machine = snapshot ? { state: snapshot.state, context: this.actor.getSnapshot().context } : undefined;
    this.writer.add({ events, messages, snapshot, machine, move });
    return this.writer.settled().catch((error: unknown) => this.break(error));
  }

  private published(changes: readonly Change[]): void {
    for (const { events, messages, machine, move } of changes) {
      this.durable = {
        ...this.durable,
        ...machine,
        lastSeq: events.at(-1)?.seq ?? this.durable.lastSeq,
        messageCount: this.durable.messageCount + messages.length,
      };
      if (move) this.deps.onMoved(move.from, move.to);
      this.deps.onAppended(events);
      this.deps.bus.publish(this.id, events);
    }
  }

  private break(error: unknown): void {
    if (this.failure !== null) return;
    this.failure = error ?? new Error('unknown failure');
    this.stop();
    this.deps.onBroken(this, error);
  }
}
