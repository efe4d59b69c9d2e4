/**
 * Model-based tests of the session statechart. `@xstate/graph` walks the pure
 * machine to every reachable (state, flags) vertex; at each vertex a real actor
 * is brought there (by replaying the shortest path, and again by hydrating the
 * vertex's snapshot with `resolveState`) and given every event, client commands
 * and run results alike, including those the state does not handle. What it
 * does is compared with an independent model of the contract in docs/API.md
 * (the statechart's rules and the resume outcomes): the next state, the next
 * context, and everything it emits (durable records, the resume outcome, the
 * rejection code).
 */
import { getAdjacencyMap, getShortestPaths, type StatePath } from '@xstate/graph';
import { describe, expect, it } from 'vitest';
import { createActor, fromPromise, type ActorLogic, type SnapshotFrom } from 'xstate';
import {
  sessionMachine,
  type RunEnd,
  type RunInput,
  type SessionContext,
  type SessionEmitted,
  type SessionMachineEvent,
} from '../machines/session.machine.js';
import type { Message, Question, SessionState } from '../src/domain/types.js';
import type { LogEvent } from '../src/domain/events.js';
import { SESSION_STATES } from '../src/domain/types.js';

const SESSION_ID = 'ses_model';
const T0 = '2025-01-01T00:00:00.000Z';
const T1 = '2025-01-01T00:00:01.000Z';
const T2 = '2025-01-01T00:00:02.000Z';

/** A run's end reaches the machine as XState's own done event of the `run` child; a run never rejects. */
type RunDone = { type: 'xstate.done.actor.run'; output: RunEnd };
type ModelEvent = SessionMachineEvent | RunDone;
type Snapshot = SnapshotFrom<typeof sessionMachine>;

const userMessage: Message = { id: 'msg_user', role: 'user', content: 'hello', created_at: T0 };
const optionsQuestion: Question = { id: 'q_opts', text: 'Pick one', options: ['red', 'blue'], allow_custom: false, asked_at: T1 };
const freeQuestion: Question = { id: 'q_free', text: 'Say anything', allow_custom: true, asked_at: T1 };
const replyMessage: Message = { id: 'msg_reply', role: 'assistant', content: 'done', created_at: T2, run_id: 'run_graph' };
const laterMessage: Message = { id: 'msg_later', role: 'user', content: 'and then?', created_at: T1 };
const takeoverMessage: Message = { id: 'msg_now', role: 'user', content: 'stop, do this', created_at: T2 };
const partialReply: Message = { id: 'msg_partial', role: 'assistant', content: 'Half an ans', created_at: T2 };
/** A queue of at most two in the graph, so it stays finite. */
const MAX_QUEUED = 2;

/** The events the graph walks with; a fixed payload each, so the graph stays finite. */
const GRAPH_EVENTS: Record<string, ModelEvent> = {
  'message.append': { type: 'message.append', message: userMessage },
  resume: { type: 'resume', runId: 'run_graph', at: T1 },
  'question.answer q_opts=red (an option)': { type: 'question.answer', questionId: 'q_opts', answer: 'red', messageId: 'msg_a1', at: T2 },
  'question.answer q_opts=green (not an option)': { type: 'question.answer', questionId: 'q_opts', answer: 'green', messageId: 'msg_a2', at: T2 },
  'question.answer q_free=green (custom)': { type: 'question.answer', questionId: 'q_free', answer: 'green', messageId: 'msg_a3', at: T2 },
  'question.answer q_other=red (unknown id)': { type: 'question.answer', questionId: 'q_other', answer: 'red', messageId: 'msg_a4', at: T2 },
  cancel: { type: 'cancel', at: T2 },
  'run.interrupt': { type: 'run.interrupt', at: T2 },
  'run.fail': { type: 'run.fail', error: 'the host died', at: T2 },
  'done: completed': { type: 'xstate.done.actor.run', output: { kind: 'completed', message: replyMessage } },
  'done: awaitingUser (options)': { type: 'xstate.done.actor.run', output: { kind: 'awaitingUser', question: optionsQuestion } },
  'done: awaitingUser (custom)': { type: 'xstate.done.actor.run', output: { kind: 'awaitingUser', question: freeQuestion } },
  'done: failed': { type: 'xstate.done.actor.run', output: { kind: 'failed', error: 'boom', at: T2 } },
  'cancel (keeping the partial reply)': { type: 'cancel', at: T2, partial: partialReply },
  'message.enqueue': { type: 'message.enqueue', message: laterMessage, maxQueued: MAX_QUEUED },
  'queue.remove msg_later': { type: 'queue.remove', messageId: 'msg_later', at: T2 },
  'queue.next': { type: 'queue.next', runId: 'run_next', at: T2 },
  'message.interrupt': { type: 'message.interrupt', message: takeoverMessage, runId: 'run_takeover', at: T2, partial: partialReply },
  'message.rollback': { type: 'message.rollback', message: takeoverMessage, runId: 'run_takeover', at: T2, removed: ['msg_user', 'msg_reply'] },
};

/**
 * The events applied at each vertex: the graph's, except `resume` carries a run
 * id no run has had, so an `AlreadyRunning` reply must name the active run, not
 * the new id.
 */
const PROBE_EVENTS: Record<string, ModelEvent> = { ...GRAPH_EVENTS, resume: { type: 'resume', runId: 'run_probe', at: T2 } };

/** State value plus the context that decides what the next event does. */
function serializeState(snapshot: Snapshot): string {
  const { hasPendingWork, pendingQuestion, lastAnswer, runId, lastRun, queue, turn } = snapshot.context;
  return JSON.stringify({
    value: snapshot.value,
    // An actor in error would be a vertex of its own, so the tests below see it.
    status: snapshot.status,
    hasPendingWork,
    question: pendingQuestion?.id ?? null,
    lastAnswer,
    running: runId !== null,
    lastRun: lastRun?.status ?? null,
    queued: queue.length,
    // Only whether a turn is open: its length would make the graph infinite.
    turn: turn.length > 0,
  });
}

const traversal = {
  input: { sessionId: SESSION_ID },
  events: Object.values(GRAPH_EVENTS) as SessionMachineEvent[],
  serializeState,
};

// ---------------------------------------------------------------------------
// The model: what the contract says each event does in each state.
// ---------------------------------------------------------------------------

interface Expected {
  value: SessionState;
  context: SessionContext;
  emitted: unknown[];
}

const record = (event: LogEvent): SessionEmitted => ({ type: 'record', event });

function rejection(code: string, details?: Record<string, unknown>): unknown {
  return {
    type: 'rejected',
    rejection: expect.objectContaining({ code, message: expect.any(String), ...(details ? { details: expect.objectContaining(details) } : {}) }),
  };
}

const reply = (outcome: 'Started' | 'AlreadyRunning' | 'Completed', runId?: string, replayed?: true): SessionEmitted => ({
  type: 'reply',
  reply: outcome === 'Completed' ? { outcome, ...(replayed ? { replayed } : {}) } : { outcome, run_id: runId!, ...(replayed ? { replayed } : {}) },
});

function expectedAfter(value: SessionState, context: SessionContext, event: ModelEvent): Expected {
  const unchanged = (...emitted: unknown[]): Expected => ({ value, context, emitted });
  const endRun = (status: 'cancelled' | 'failed' | 'interrupted', at: string, recorded: LogEvent, error?: string): Expected => ({
    value: 'idle',
    // The run's turn is still unanswered: pending work is kept so `resume` retries it.
    context: {
      ...context,
      runId: null,
      hasPendingWork: true,
      lastRun: { ...context.lastRun!, status, ended_at: at, ...(error === undefined ? {} : { error }) },
    },
    emitted: [record(recorded)],
  });
  const running = value === 'running';
  /** A user turn: the session is idle with work to do. */
  const appended = (message: Message): Expected => ({
    value: 'idle',
    context: { ...context, hasPendingWork: true, turn: [...context.turn, message.id] },
    emitted: [record({ type: 'message_appended', at: message.created_at, message })],
  });
  /** A new run starts at once, after what `before` recorded. */
  const startedWith = (base: SessionContext, runId: string, at: string, before: unknown[]): Expected => ({
    value: 'running',
    context: { ...base, runId, hasPendingWork: false, lastRun: { id: runId, status: 'running', started_at: at, ended_at: null } },
    emitted: [...before, record({ type: 'run_started', at, run_id: runId }), reply('Started', runId)],
  });
  const keptPartial = (partial: Message, at: string) =>
    record({ type: 'message_appended', at, run_id: context.runId!, message: { ...partial, run_id: context.runId!, interrupted: true } });

  switch (event.type) {
    case 'message.append':
      if (running) return unchanged(rejection('session_busy', { run_id: context.runId }));
      if (value === 'awaitingUser') return unchanged(rejection('question_pending', { question_id: context.pendingQuestion!.id }));
      // Free, but queued messages run first.
      if (context.queue.length > 0) return unchanged(rejection('session_busy'));
      return appended(event.message);

    case 'resume':
      if (running) return unchanged(reply('AlreadyRunning', context.runId!));
      if (value !== 'awaitingUser' && context.hasPendingWork) {
        return {
          value: 'running',
          context: {
            ...context,
            runId: event.runId,
            hasPendingWork: false,
            lastRun: { id: event.runId, status: 'running', started_at: event.at, ended_at: null },
          },
          emitted: [record({ type: 'run_started', at: event.at, run_id: event.runId }), reply('Started', event.runId)],
        };
      }
      return unchanged(reply('Completed'));

    case 'question.answer': {
      const open = context.pendingQuestion;
      if (value === 'awaitingUser' && open?.id === event.questionId) {
        const allowed = open.allow_custom || (open.options ?? []).includes(event.answer);
        if (!allowed) return unchanged(rejection('invalid_answer'));
        const answer: Message = { id: event.messageId, role: 'tool', content: event.answer, created_at: event.at, tool_call_id: event.questionId };
        return {
          value: 'idle',
          context: {
            ...context,
            pendingQuestion: null,
            hasPendingWork: true,
            lastAnswer: { questionId: event.questionId, answer: event.answer },
            turn: [...context.turn, event.messageId],
          },
          emitted: [
            record({ type: 'message_appended', at: event.at, message: answer }),
            record({ type: 'question_answered', at: event.at, question_id: event.questionId, answer: event.answer }),
          ],
        };
      }
      if (context.lastAnswer?.questionId === event.questionId && context.lastAnswer.answer === event.answer) {
        return unchanged(running ? reply('AlreadyRunning', context.runId!, true) : reply('Completed', undefined, true));
      }
      if (open !== null || context.lastAnswer?.questionId === event.questionId) return unchanged(rejection('question_mismatch'));
      return unchanged(rejection('no_pending_question'));
    }

    case 'cancel': {
      if (!running) return unchanged(rejection('not_running'));
      const ended = endRun('cancelled', event.at, { type: 'run_cancelled', at: event.at, run_id: context.runId! });
      return event.partial ? { ...ended, emitted: [keptPartial(event.partial, event.at), ...ended.emitted] } : ended;
    }

    case 'message.enqueue': {
      if ((value === 'idle' || value === 'completed') && context.queue.length === 0) return appended(event.message);
      if (context.queue.length >= event.maxQueued) return unchanged(rejection('queue_full', { limit: event.maxQueued }));
      const position = context.queue.length + 1;
      const { id, content, created_at } = event.message;
      return {
        value,
        context: { ...context, queue: [...context.queue, { id, content, created_at }] },
        emitted: [
          record({ type: 'message_queued', at: event.message.created_at, message: event.message, position }),
          { type: 'reply', reply: { outcome: 'Queued', position } },
        ],
      };
    }

    case 'queue.remove':
      if (!context.queue.some((queued) => queued.id === event.messageId)) return unchanged(rejection('queued_message_not_found'));
      return {
        value,
        context: { ...context, queue: context.queue.filter((queued) => queued.id !== event.messageId) },
        emitted: [record({ type: 'message_dequeued', at: event.at, message_id: event.messageId })],
      };

    case 'queue.next': {
      if ((value !== 'idle' && value !== 'completed') || context.queue.length === 0) return unchanged();
      const [first, ...rest] = context.queue;
      const message: Message = { id: first!.id, role: 'user', content: first!.content, created_at: first!.created_at };
      return startedWith({ ...context, queue: rest, turn: [...context.turn, message.id] }, event.runId, event.at, [
        record({ type: 'message_appended', at: event.at, message }),
      ]);
    }

    case 'message.interrupt':
    case 'message.rollback': {
      const before: unknown[] = [];
      let base = context;
      if (running) {
        const cancelled = endRun('cancelled', event.at, { type: 'run_cancelled', at: event.at, run_id: context.runId! });
        if (event.type === 'message.interrupt' && event.partial) before.push(keptPartial(event.partial, event.at));
        before.push(...cancelled.emitted);
        base = cancelled.context;
      } else if (value === 'awaitingUser') {
        before.push(record({ type: 'question_withdrawn', at: event.at, question_id: context.pendingQuestion!.id }));
        base = { ...context, pendingQuestion: null };
      }
      if (event.type === 'message.rollback') {
        before.push(record({ type: 'messages_removed', at: event.at, message_ids: event.removed }));
        base = { ...base, turn: [] };
      }
      before.push(record({ type: 'message_appended', at: event.message.created_at, message: event.message }));
      return startedWith({ ...base, turn: [...base.turn, event.message.id] }, event.runId, event.at, before);
    }

    case 'run.interrupt':
      if (!running) return unchanged();
      return endRun('interrupted', event.at, { type: 'run_interrupted', at: event.at, run_id: context.runId! });

    case 'run.fail':
      if (!running) return unchanged();
      return endRun('failed', event.at, { type: 'run_failed', at: event.at, run_id: context.runId!, error: event.error }, event.error);

    case 'xstate.done.actor.run': {
      // A result reaching a session with no active run is stale and changes nothing.
      if (!running) return unchanged();
      const runId = context.runId!;
      if (event.output.kind === 'failed') {
        const { error, at } = event.output;
        return endRun('failed', at, { type: 'run_failed', at, run_id: runId, error }, error);
      }
      if (event.output.kind === 'completed') {
        const { message } = event.output;
        return {
          value: 'completed',
          context: { ...context, runId: null, turn: [], lastRun: { ...context.lastRun!, status: 'completed', ended_at: message.created_at } },
          emitted: [
            record({ type: 'message_appended', at: message.created_at, run_id: runId, message }),
            record({ type: 'run_completed', at: message.created_at, run_id: runId }),
          ],
        };
      }
      const { question } = event.output;
      return {
        value: 'awaitingUser',
        context: {
          ...context,
          runId: null,
          pendingQuestion: question,
          lastRun: { ...context.lastRun!, status: 'awaiting_user', ended_at: question.asked_at },
        },
        emitted: [record({ type: 'question_asked', at: question.asked_at, run_id: runId, question })],
      };
    }
  }
}

// ---------------------------------------------------------------------------
// The system under test: a real actor with a run that only ends when told.
// ---------------------------------------------------------------------------

interface Harness {
  actor: ReturnType<typeof createActor<typeof sessionMachine>>;
  emitted: SessionEmitted[];
  runs: RunInput[];
  signals: Map<string, AbortSignal>;
  errors: unknown[];
}

function startActor(snapshot?: Snapshot): Harness {
  const runs: RunInput[] = [];
  const signals = new Map<string, AbortSignal>();
  const machine = sessionMachine.provide({
    actors: {
      agentRun: fromPromise<RunEnd, RunInput>(({ input, signal }) => {
        runs.push(input);
        signals.set(input.runId, signal);
        return new Promise<RunEnd>(() => undefined);
      }),
    },
  });
  const actor = createActor(machine, { input: { sessionId: SESSION_ID }, ...(snapshot ? { snapshot: machine.resolveState(snapshot) } : {}) });
  const emitted: SessionEmitted[] = [];
  const errors: unknown[] = [];
  actor.on('*', (event) => emitted.push(event));
  actor.subscribe({ error: (error) => errors.push(error) });
  actor.start();
  return { actor, emitted, runs, signals, errors };
}

function send(harness: Harness, event: ModelEvent): void {
  // Done/error events are XState's own and absent from the machine's event union.
  harness.actor.send(event as SessionMachineEvent);
}

function replay(path: StatePath<Snapshot, SessionMachineEvent>): Harness {
  const harness = startActor();
  for (const step of path.steps) {
    if (step.event.type === ('xstate.init' as string)) continue;
    send(harness, step.event);
  }
  return harness;
}

function hydrate(path: StatePath<Snapshot, SessionMachineEvent>): Harness {
  return startActor({ value: path.state.value, context: path.state.context } as Snapshot);
}

function stateOf(harness: Harness): { value: SessionState; context: SessionContext } {
  const snapshot = harness.actor.getSnapshot();
  return { value: snapshot.value as SessionState, context: snapshot.context };
}

const paths = getShortestPaths(sessionMachine, traversal);

function labelOf(path: StatePath<Snapshot, SessionMachineEvent>): string {
  return serializeState(path.state);
}

describe('the session statechart graph', () => {
  it('reaches each of the four states, and no other', () => {
    const reached = new Set(paths.map((path) => path.state.value as string));
    expect([...reached].sort()).toEqual([...SESSION_STATES].sort());
  });

  it('never leaves the actor stopped or in error, whatever event comes in whatever state', () => {
    expect(paths.filter((path) => path.state.status !== 'active').map(labelOf)).toEqual([]);
  });

  it('reaches the states that matter for the contract', () => {
    const labels = paths.map((path) => JSON.parse(labelOf(path)) as Record<string, unknown>);
    const has = (fields: Record<string, unknown>) => labels.some((label) => Object.entries(fields).every(([k, v]) => label[k] === v));
    expect(has({ value: 'idle', hasPendingWork: false })).toBe(true);
    expect(has({ value: 'idle', hasPendingWork: true })).toBe(true);
    for (const status of ['cancelled', 'failed', 'interrupted']) expect(has({ value: 'idle', hasPendingWork: true, lastRun: status })).toBe(true);
    expect(has({ value: 'awaitingUser', question: 'q_opts' })).toBe(true);
    expect(has({ value: 'awaitingUser', question: 'q_free' })).toBe(true);
    expect(has({ value: 'completed' })).toBe(true);
    expect(has({ value: 'running', running: true })).toBe(true);
  });

  it('completed is not a final state', () => {
    const completed = paths.find((path) => path.state.value === 'completed')!;
    expect(completed.state.status).toBe('active');
    expect(sessionMachine.states.completed.type).not.toBe('final');
  });

  it("the pure transition function agrees with the model on every edge of the graph", () => {
    // getAdjacencyMap's signature wants plain ActorLogic; a machine is one, but the emitted-event types do not line up.
    const logic = sessionMachine as unknown as ActorLogic<Snapshot, SessionMachineEvent, { sessionId: string }>;
    const adjacency = getAdjacencyMap(logic, traversal);
    let edges = 0;
    for (const { state, transitions } of Object.values(adjacency)) {
      const edgesOut = Object.values(transitions) as Array<{ event: SessionMachineEvent; state: Snapshot }>;
      expect(edgesOut.length, serializeState(state)).toBe(Object.keys(GRAPH_EVENTS).length);
      for (const { event, state: next } of edgesOut) {
        const expected = expectedAfter(state.value as SessionState, state.context, event);
        expect({ value: next.value, context: next.context }, `${serializeState(state)} + ${event.type}`).toEqual({
          value: expected.value,
          context: expected.context,
        });
        edges++;
      }
    }
    expect(edges).toBeGreaterThan(paths.length);
  });
});

describe.each(SESSION_STATES)('in %s', (value) => {
  const vertices = paths.filter((path) => path.state.value === value);

  describe.each(vertices.map((path) => [labelOf(path), path] as const))('at %s', (_label, path) => {
    it.each(Object.entries(PROBE_EVENTS))('%s: a replayed actor does what the model says', (_name, event) => {
      const harness = replay(path);
      const before = stateOf(harness);
      // The same vertex; the graph abstracts some of the context (run ids, the turn), so the replay is checked by it.
      expect(serializeState(harness.actor.getSnapshot())).toBe(serializeState(path.state));
      const activeSignal = before.context.runId ? harness.signals.get(before.context.runId) : undefined;
      if (value === 'running') {
        // The run is a real child, invoked with its run id and a live signal.
        expect(harness.runs.at(-1)).toEqual({ sessionId: SESSION_ID, runId: before.context.runId, startedAt: before.context.lastRun!.started_at });
        expect(activeSignal?.aborted).toBe(false);
      }
      harness.emitted.length = 0;
      const runsBefore = harness.runs.length;

      send(harness, event);

      const expected = expectedAfter(before.value, before.context, event);
      expect(stateOf(harness)).toEqual({ value: expected.value, context: expected.context });
      expect(harness.emitted).toEqual(expected.emitted);
      expect(harness.actor.getSnapshot().status).toBe('active');
      expect(harness.errors).toEqual([]);

      const replaced = value === 'running' && (event.type === 'message.interrupt' || event.type === 'message.rollback');
      if (value === 'running' && !replaced) {
        // Leaving `running` aborts the run; staying keeps it going.
        expect(activeSignal?.aborted).toBe(expected.value !== 'running');
        expect(harness.runs.length).toBe(runsBefore);
      } else if (expected.value === 'running') {
        // A new run (interrupt and rollback replace the active one, whose signal aborts).
        if (replaced) expect(activeSignal?.aborted).toBe(true);
        expect(harness.runs.slice(runsBefore)).toEqual([{ sessionId: SESSION_ID, runId: expected.context.runId, startedAt: expected.context.lastRun!.started_at }]);
        expect(harness.signals.get(expected.context.runId!)?.aborted).toBe(false);
      } else {
        expect(harness.runs.length).toBe(runsBefore);
      }
      harness.actor.stop();
    });

    it.each(Object.entries(PROBE_EVENTS))('%s: an actor hydrated with resolveState does the same', (_name, event) => {
      const harness = hydrate(path);
      const before = stateOf(harness);
      expect(before).toEqual({ value: path.state.value, context: path.state.context });
      send(harness, event);
      const expected = expectedAfter(before.value, before.context, event);
      expect(stateOf(harness)).toEqual({ value: expected.value, context: expected.context });
      expect(harness.emitted).toEqual(expected.emitted);
      expect(harness.errors).toEqual([]);
      harness.actor.stop();
    });
  });
});

describe('named cases from docs/API.md', () => {
  const at = (state: SessionState, where: (context: SessionContext) => boolean = () => true) =>
    paths.find((path) => path.state.value === state && where(path.state.context))!;

  function probe(path: StatePath<Snapshot, SessionMachineEvent>, event: ModelEvent) {
    const harness = replay(path);
    const before = stateOf(harness);
    harness.emitted.length = 0;
    send(harness, event);
    const replies = harness.emitted.filter((emitted) => emitted.type !== 'record');
    return { harness, replies, state: stateOf(harness), before };
  }

  it('message.append while running → session_busy with the run_id', () => {
    const { replies, state, before } = probe(at('running'), GRAPH_EVENTS['message.append']!);
    expect(replies).toEqual([rejection('session_busy', { run_id: before.context.runId })]);
    expect(state.value).toBe('running');
  });

  it('message.append while awaitingUser → question_pending with the question_id', () => {
    const { replies } = probe(at('awaitingUser'), GRAPH_EVENTS['message.append']!);
    expect(replies).toEqual([rejection('question_pending', { question_id: expect.stringMatching(/^q_/) })]);
  });

  it('resume: Completed when idle without work, Started with work, AlreadyRunning when running, Completed when awaitingUser or completed', () => {
    const outcome = (path: StatePath<Snapshot, SessionMachineEvent>) => probe(path, PROBE_EVENTS.resume!).replies;
    expect(outcome(at('idle', (c) => !c.hasPendingWork))).toEqual([reply('Completed')]);
    expect(outcome(at('idle', (c) => c.hasPendingWork))).toEqual([reply('Started', 'run_probe')]);
    const running = probe(at('running'), PROBE_EVENTS.resume!);
    expect(running.replies).toEqual([reply('AlreadyRunning', running.before.context.runId!)]);
    expect(outcome(at('awaitingUser'))).toEqual([reply('Completed')]);
    expect(outcome(at('completed'))).toEqual([reply('Completed')]);
  });

  it('a cancelled, failed or interrupted run keeps its work, so resume retries it', () => {
    for (const status of ['cancelled', 'failed', 'interrupted']) {
      const path = at('idle', (c) => c.lastRun?.status === status);
      const { replies, state } = probe(path, PROBE_EVENTS.resume!);
      expect(replies, status).toEqual([reply('Started', 'run_probe')]);
      expect(state.value).toBe('running');
    }
  });

  it('answers: invalid_answer for a non-option, question_mismatch for another id, no_pending_question when none was asked', () => {
    const asking = at('awaitingUser', (c) => c.pendingQuestion?.id === 'q_opts' && c.lastAnswer === null);
    expect(probe(asking, GRAPH_EVENTS['question.answer q_opts=green (not an option)']!).replies).toEqual([rejection('invalid_answer')]);
    expect(probe(asking, GRAPH_EVENTS['question.answer q_other=red (unknown id)']!).replies).toEqual([rejection('question_mismatch')]);
    const fresh = at('idle', (c) => c.lastAnswer === null && c.lastRun === null);
    expect(probe(fresh, GRAPH_EVENTS['question.answer q_opts=red (an option)']!).replies).toEqual([rejection('no_pending_question')]);
  });

  it('a repeated answer is a replay: AlreadyRunning with the run while it runs, else Completed; another answer to it is a mismatch', () => {
    const answeredRunning = at('running', (c) => c.lastAnswer?.questionId === 'q_opts');
    expect(probe(answeredRunning, GRAPH_EVENTS['question.answer q_opts=red (an option)']!).replies).toEqual([reply('AlreadyRunning', 'run_graph', true)]);
    const answeredIdle = at('idle', (c) => c.lastAnswer?.questionId === 'q_opts');
    expect(probe(answeredIdle, GRAPH_EVENTS['question.answer q_opts=red (an option)']!).replies).toEqual([reply('Completed', undefined, true)]);
    expect(probe(answeredIdle, GRAPH_EVENTS['question.answer q_opts=green (not an option)']!).replies).toEqual([rejection('question_mismatch')]);
  });

  it('an open question with the id of an earlier one takes a new answer', () => {
    const reasked = at('awaitingUser', (c) => c.pendingQuestion?.id === 'q_opts' && c.lastAnswer?.questionId === 'q_opts');
    const { replies, state } = probe(reasked, GRAPH_EVENTS['question.answer q_opts=red (an option)']!);
    expect(replies).toEqual([]);
    expect(state.value).toBe('idle');
    expect(state.context.hasPendingWork).toBe(true);
  });

  it('cancel outside running → not_running', () => {
    for (const state of ['idle', 'awaitingUser', 'completed'] as const) {
      expect(probe(at(state), GRAPH_EVENTS.cancel!).replies, state).toEqual([rejection('not_running')]);
    }
  });
});
