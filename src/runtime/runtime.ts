/**
 * The session runtime: the use cases behind the HTTP API. Each one finds the
 * session's actor through the registry, sends it an event, reads the machine's
 * reply, and answers only once the resulting change is durable.
 */
import pino, { type Logger } from 'pino';
import type { InspectionEvent, Observer } from 'xstate';
import { sessionMachine } from '../../machines/session.machine.js';
import type { Agent } from '../agents/agent.js';
import { SessionError, sessionNotFound } from '../domain/errors.js';
import { newId, newSessionId, now } from '../domain/ids.js';
import type { Message, SessionEvent, SessionState, SessionView } from '../domain/types.js';
import type { SessionRow, Store } from '../storage/store.js';
import { EventBus, type Subscriber } from './event-bus.js';
import { SessionRegistry } from './registry.js';
import { createRunActor } from './run-executor.js';
import { createSessionIndex, type StateCounts } from './session-index.js';
import type { Reply, SessionHost } from './session-host.js';
import { decodeSnapshot } from './snapshot.js';
import { sessionView } from './view.js';

export interface RuntimeOptions {
  store: Store;
  /** Agents by name; sessions name one at creation. */
  agents: ReadonlyMap<string, Agent>;
  /** The agent of sessions that name none. */
  defaultAgent: string;
  /** Live actors kept before the least recently used idle ones are passivated. */
  maxLiveActors?: number;
  logger?: Logger;
  /** An XState inspector, given every session actor. */
  inspect?: Observer<InspectionEvent>;
  /** Events just made durable, for metrics. */
  onAppended?: (events: readonly SessionEvent[]) => void;
}

export interface NewSession {
  title?: string | null;
  agent?: string;
  system_prompt?: string | null;
  metadata?: Record<string, unknown>;
}

export type ResumeResult =
  | { outcome: 'NotFound' }
  | { outcome: 'Completed' }
  | { outcome: 'AlreadyRunning'; run_id: string }
  /** `events_after`: the last `seq` before the run, where a client's stream should start. */
  | { outcome: 'Started'; run_id: string; events_after: number };

export type RespondResult =
  | { replayed: false; outcome: 'Started'; run_id: string; events_after: number }
  | { replayed: true; outcome: 'AlreadyRunning'; run_id: string }
  | { replayed: true; outcome: 'Completed' };

export type AppendResult =
  | { message: Message; outcome: null }
  | { message: Message; outcome: 'Started'; run_id: string; events_after: number };

export class SessionRuntime {
  readonly bus = new EventBus();
  readonly index = createSessionIndex();
  private readonly registry: SessionRegistry;
  private readonly store: Store;
  private readonly logger: Logger;
  private closing = false;

  constructor(private readonly options: RuntimeOptions) {
    this.store = options.store;
    this.logger = options.logger ?? pino({ level: 'silent' });
    if (!options.agents.has(options.defaultAgent)) throw new Error(`The default agent "${options.defaultAgent}" is not registered`);
    const logic = sessionMachine.provide({
      actors: { agentRun: createRunActor({ store: this.store, agents: options.agents, host: (id) => this.registry.peek(id) }) },
    });
    this.registry = new SessionRegistry({
      store: this.store,
      maxLive: options.maxLiveActors ?? 10_000,
      logger: this.logger,
      hostDeps: {
        store: this.store,
        bus: this.bus,
        logic,
        inspect: options.inspect,
        onMoved: (from, to) => this.index.trigger.moved({ from, to }),
        onAppended: (events) => options.onAppended?.(events),
      },
    });
  }

  /**
   * Loads the state counts and recovers sessions whose run died with the
   * previous process: each becomes `idle` with `last_run.status = "interrupted"`
   * and its pending work kept. Returns their ids.
   */
  async start({ resumeInterrupted = false } = {}): Promise<string[]> {
    this.index.trigger.seeded({ counts: await this.store.countByState() });
    const interrupted = await this.store.sessionIdsInState('running');
    for (const id of interrupted) await (await this.registry.get(id))?.settled();
    if (interrupted.length > 0) this.logger.warn({ sessions: interrupted.length }, 'recovered interrupted runs');
    if (resumeInterrupted) for (const id of interrupted) await this.resume(id);
    return interrupted;
  }

  /** Aborts active runs (recorded as interrupted), waits for every write, closes storage. */
  async shutdown(): Promise<void> {
    if (this.closing) return;
    this.closing = true;
    const hosts = this.registry.hosts();
    for (const host of hosts) {
      if (host.currentState === 'running') host.send({ type: 'run.interrupt', at: now() });
    }
    await Promise.allSettled(hosts.map((host) => host.settled()));
    this.registry.stopAll();
    await this.store.close();
  }

  get agentNames(): string[] {
    return [...this.options.agents.keys()];
  }

  get liveActors(): number {
    return this.registry.liveCount;
  }

  counts(): StateCounts {
    return this.index.getSnapshot().context.counts;
  }

  async createSession(input: NewSession = {}): Promise<SessionView> {
    this.assertOpen();
    const agent = input.agent ?? this.options.defaultAgent;
    if (!this.options.agents.has(agent)) {
      throw new SessionError('invalid_request', `agent: unknown agent "${agent}" (available: ${this.agentNames.join(', ')})`);
    }
    const host = await this.registry.create({
      id: newSessionId(),
      title: input.title ?? null,
      agent,
      system_prompt: input.system_prompt ?? null,
      metadata: input.metadata ?? {},
      created_at: now(),
    });
    return host.view();
  }

  async getSession(id: string): Promise<SessionView> {
    return this.withHost(id, async (host) => {
      await host.settled();
      return host.view();
    });
  }

  /** Newest first; live sessions show their in-memory (already durable) view. */
  async listSessions(query: { limit: number; cursor?: string; state?: SessionState }): Promise<{ sessions: SessionView[]; next_cursor: string | null }> {
    const page = await this.store.listSessions(query);
    const sessions = page.items.map((row) => {
      const host = this.registry.peek(row.info.id);
      return host ? host.view() : viewOfRow(row);
    });
    return { sessions, next_cursor: page.nextCursor };
  }

  /** Cancels an active run, then removes the session, its messages and its events. */
  async deleteSession(id: string): Promise<void> {
    await this.withHost(id, async (host) => {
      if (host.currentState === 'running') host.send({ type: 'cancel', at: now() });
      this.registry.retire(host);
      try {
        await host.settled().catch(() => undefined);
        await this.store.deleteSession(id);
        this.index.trigger.moved({ from: host.currentState });
        this.bus.close(id, { seq: host.lastSeq + 1, type: 'session_deleted', session_id: id, at: now() });
      } finally {
        this.registry.forget(id);
      }
    });
  }

  async appendMessage(id: string, content: string, { resume = true } = {}): Promise<AppendResult> {
    return this.withHost(id, async (host) => {
      const message: Message = { id: newId('msg'), role: 'user', content, created_at: now() };
      rejectIfRefused(host.send({ type: 'message.append', message }));
      if (!resume) {
        await host.settled();
        return { message, outcome: null };
      }
      const started = this.startRun(host);
      await host.settled();
      if (started.outcome !== 'Started') throw new Error(`A resume after a new message answered ${started.outcome}`);
      return { message, ...started };
    });
  }

  async resume(id: string): Promise<ResumeResult> {
    try {
      return await this.withHost(id, async (host) => {
        const result = this.startRun(host);
        await host.settled();
        return result;
      });
    } catch (error) {
      if (error instanceof SessionError && error.code === 'session_not_found') return { outcome: 'NotFound' };
      throw error;
    }
  }

  /** Records the answer to the open question, then resumes; a repeated answer is a harmless replay. */
  async respond(id: string, questionId: string, answer: string): Promise<RespondResult> {
    return this.withHost(id, async (host) => {
      const reply = host.send({ type: 'question.answer', questionId, answer, messageId: newId('msg'), at: now() });
      rejectIfRefused(reply);
      if (reply?.type === 'answer.replayed') {
        await host.settled();
        return reply.outcome === 'AlreadyRunning' && reply.runId
          ? { replayed: true, outcome: 'AlreadyRunning', run_id: reply.runId }
          : { replayed: true, outcome: 'Completed' };
      }
      const started = this.startRun(host);
      await host.settled();
      if (started.outcome !== 'Started') throw new Error(`A resume after an answer answered ${started.outcome}`);
      return { replayed: false, ...started };
    });
  }

  async cancel(id: string): Promise<{ outcome: 'Cancelled'; run_id: string }> {
    return this.withHost(id, async (host) => {
      const runId = host.runId;
      rejectIfRefused(host.send({ type: 'cancel', at: now() }));
      await host.settled();
      return { outcome: 'Cancelled', run_id: runId! };
    });
  }

  /** A page of the log after `after`; throws when the session does not exist. */
  async readEvents(id: string, after: number, limit: number): Promise<{ events: SessionEvent[]; next_after: number }> {
    await this.assertExists(id);
    const events = await this.store.readEvents(id, after, limit);
    return { events, next_after: events.at(-1)?.seq ?? after };
  }

  async readMessages(id: string, query: { limit: number; cursor?: string }): Promise<{ messages: Message[]; next_cursor: string | null }> {
    await this.assertExists(id);
    const page = await this.store.readMessages(id, query);
    return { messages: page.items, next_cursor: page.nextCursor };
  }

  /** Live, durable events of one session. Subscribe before reading the log, so nothing falls between. */
  subscribe(id: string, subscriber: Subscriber): () => void {
    return this.bus.subscribe(id, subscriber);
  }

  /** Throws `session_not_found` for a missing session; a stored one is not loaded into memory for this. */
  async assertExists(id: string): Promise<void> {
    if (!(await this.exists(id))) throw sessionNotFound(id);
  }

  async exists(id: string): Promise<boolean> {
    this.assertOpen();
    return this.registry.exists(id);
  }

  async ping(): Promise<void> {
    this.assertOpen();
    await this.store.ping();
  }

  private startRun(host: SessionHost): ResumeResult {
    const eventsAfter = host.lastSeq;
    const reply = host.send({ type: 'resume', runId: newId('run'), at: now() });
    if (reply?.type !== 'resume.outcome') throw new Error('The session machine did not answer resume');
    switch (reply.outcome) {
      case 'Started':
        return { outcome: 'Started', run_id: reply.runId!, events_after: eventsAfter };
      case 'AlreadyRunning':
        return { outcome: 'AlreadyRunning', run_id: reply.runId! };
      case 'Completed':
        return { outcome: 'Completed' };
    }
  }

  /**
   * Runs `use` against the session's live host. `use` must send its events
   * before its first await: a host found stopped (passivated meanwhile) is
   * fetched again.
   */
  private async withHost<T>(id: string, use: (host: SessionHost) => Promise<T>): Promise<T> {
    this.assertOpen();
    for (;;) {
      const host = await this.registry.get(id);
      if (!host) throw sessionNotFound(id);
      if (!host.isStopped) return use(host);
    }
  }

  private assertOpen(): void {
    if (this.closing) throw new SessionError('unavailable', 'The server is shutting down');
  }
}

function rejectIfRefused(reply: Reply | null): void {
  if (reply?.type === 'command.rejected') throw new SessionError(reply.code, reply.message, reply.details);
}

function viewOfRow(row: SessionRow): SessionView {
  return sessionView(row.info, row.state, decodeSnapshot(row.snapshot).context, row);
}
