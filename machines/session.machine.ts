/**
 * The session statechart. Pure: no I/O, no clock, no id generation. Everything
 * time- or id-dependent arrives in the events, so a transition is a function of
 * (snapshot, event) alone and the model-based tests can walk it.
 *
 * Actions get what they need as typed `params`, so none re-checks the event.
 * The machine talks back through `emit`:
 * - `record`: an event for the session's durable log;
 * - `reply`: the outcome of the command just sent;
 * - `rejected`: why the command is refused in this state.
 */
import { emit, enqueueActions, fromPromise, not, setup } from 'xstate';
import type { LogEvent } from '../src/domain/events.js';
import type { Message } from '../src/domain/types.js';
import {
  abandoned,
  type Abandonment,
  endRun,
  fromQueue,
  isAllowedAnswer,
  isReplayedAnswer,
  mismatchOrNoQuestion,
  notQueued,
  queuedAhead,
  queueFull,
  queueHasRoom,
  type Step,
  userTurn,
} from './session.rules.js';
import type { Answer, Rejection, RunEnd, RunInput, SessionContext, SessionEmitted, SessionMachineEvent, SessionMachineInput } from './session.types.js';
import { initialContext } from './session.types.js';

export * from './session.types.js';

const record = (event: LogEvent) => ({ type: 'record', event }) as const;

// Steps shared by the states' transitions; each takes its params from the event.
const startRun = { type: 'startRun', params: ({ event }: { event: { runId: string; at: string } }) => event } as const;
/** The event's message becomes the user turn, and a run starts on it. */
const startTurn = [{ type: 'appendUserMessage', params: ({ event }: { event: { message: Message } }) => event } as const, startRun];
const removeTurn = { type: 'removeTurn', params: ({ event }: { event: { removed: string[]; at: string } }) => event } as const;
/** Free, but queued messages run first: a message that may not wait is refused, as while a run is active. */
const queuedFirst = { guard: 'hasQueued', actions: { type: 'reject', params: ({ context }: { context: SessionContext }) => queuedAhead(context) } } as const;
const withdrawQuestion = { type: 'withdrawQuestion', params: ({ event }: { event: { at: string } }) => event } as const;

export const sessionMachine = setup({
  types: {
    context: {} as SessionContext,
    events: {} as SessionMachineEvent,
    emitted: {} as SessionEmitted,
    input: {} as SessionMachineInput,
  },
  actors: {
    // Replaced by the runtime with `machine.provide`; kept here so the machine is complete on its own.
    agentRun: fromPromise<RunEnd, RunInput>(async ({ input }) => ({ kind: 'failed', error: 'No agent is provided to this machine', at: input.startedAt })),
  },
  guards: {
    hasPendingWork: ({ context }) => context.hasPendingWork,
    answersOpenQuestion: ({ context }, answer: Answer) => context.pendingQuestion?.id === answer.questionId,
    /** Names the open question and is one of its options, or custom answers are allowed. */
    isValidAnswer: ({ context }, answer: Answer) =>
      context.pendingQuestion?.id === answer.questionId && isAllowedAnswer(context.pendingQuestion, answer.answer),
    isReplayedAnswer: ({ context }, answer: Answer) => isReplayedAnswer(context.lastAnswer, answer),
    runCompleted: (_, end: RunEnd) => end.kind === 'completed',
    runAskedUser: (_, end: RunEnd) => end.kind === 'awaitingUser',
    hasQueued: ({ context }) => context.queue.length > 0,
    queueHasRoom: ({ context }, { maxQueued }: { maxQueued: number }) => queueHasRoom(context, maxQueued),
    isQueued: ({ context }, { messageId }: { messageId: string }) => context.queue.some((queued) => queued.id === messageId),
  },
  actions: {
    appendUserMessage: enqueueActions(({ context, enqueue }, { message }: { message: Message }) => apply(enqueue, userTurn(context, message))),
    startRun: enqueueActions(({ enqueue }, { runId, at }: { runId: string; at: string }) => {
      enqueue.assign({ runId, hasPendingWork: false, lastRun: { id: runId, status: 'running', started_at: at, ended_at: null } });
      enqueue.emit(record({ type: 'run_started', at, run_id: runId }));
      enqueue.emit({ type: 'reply', reply: { outcome: 'Started', run_id: runId } });
    }),
    replyCompleted: emit({ type: 'reply', reply: { outcome: 'Completed' } }),
    replyAlreadyRunning: emit(({ context }) => ({ type: 'reply', reply: { outcome: 'AlreadyRunning', run_id: context.runId! } }) as const),
    replayAnswer: emit(
      ({ context }) =>
        ({
          type: 'reply',
          reply: context.runId ? { outcome: 'AlreadyRunning', run_id: context.runId, replayed: true } : { outcome: 'Completed', replayed: true },
        }) as const,
    ),
    reject: emit((_, rejection: Rejection) => ({ type: 'rejected', rejection }) as const),
    recordAnswer: enqueueActions(({ context, enqueue }, answer: Answer) => {
      const message: Message = { id: answer.messageId, role: 'tool', content: answer.answer, created_at: answer.at, tool_call_id: answer.questionId };
      enqueue.assign({
        pendingQuestion: null,
        hasPendingWork: true,
        lastAnswer: { questionId: answer.questionId, answer: answer.answer },
        turn: [...context.turn, message.id],
      });
      enqueue.emit(record({ type: 'message_appended', at: answer.at, message }));
      enqueue.emit(record({ type: 'question_answered', at: answer.at, question_id: answer.questionId, answer: answer.answer }));
    }),
    /** Ends the active run without a result: its user turn is still unanswered, so `resume` retries it. */
    abandonRun: enqueueActions(({ context, enqueue }, { partial, ...how }: Abandonment & { partial?: Message }) => apply(enqueue, abandoned(context, how, partial))),
    failRun: enqueueActions(({ context, enqueue }, end: RunEnd) => {
      if (end.kind === 'failed') apply(enqueue, abandoned(context, { status: 'failed', at: end.at, error: end.error }));
    }),
    completeRun: enqueueActions(({ context, enqueue }, end: RunEnd) => {
      if (end.kind !== 'completed') return;
      const { message } = end;
      const runId = context.runId!;
      enqueue.assign({ runId: null, turn: [], lastRun: endRun(context.lastRun, 'completed', message.created_at) });
      enqueue.emit(record({ type: 'message_appended', at: message.created_at, run_id: runId, message }));
      enqueue.emit(record({ type: 'run_completed', at: message.created_at, run_id: runId }));
    }),
    askUser: enqueueActions(({ context, enqueue }, end: RunEnd) => {
      if (end.kind !== 'awaitingUser') return;
      const { question } = end;
      enqueue.assign({ runId: null, pendingQuestion: question, lastRun: endRun(context.lastRun, 'awaiting_user', question.asked_at) });
      enqueue.emit(record({ type: 'question_asked', at: question.asked_at, run_id: context.runId!, question }));
    }),
    enqueueMessage: enqueueActions(({ context, enqueue }, { message }: { message: Message }) => {
      const position = context.queue.length + 1;
      enqueue.assign({ queue: [...context.queue, { id: message.id, content: message.content, created_at: message.created_at }] });
      enqueue.emit(record({ type: 'message_queued', at: message.created_at, message, position }));
      enqueue.emit({ type: 'reply', reply: { outcome: 'Queued', position } });
    }),
    removeQueued: enqueueActions(({ context, enqueue }, { messageId, at }: { messageId: string; at: string }) => {
      enqueue.assign({ queue: context.queue.filter((queued) => queued.id !== messageId) });
      enqueue.emit(record({ type: 'message_dequeued', at, message_id: messageId }));
    }),
    takeQueued: enqueueActions(({ context, enqueue }, { at }: { at: string }) => apply(enqueue, fromQueue(context, at))),
    withdrawQuestion: enqueueActions(({ context, enqueue }, { at }: { at: string }) => {
      enqueue.assign({ pendingQuestion: null });
      enqueue.emit(record({ type: 'question_withdrawn', at, question_id: context.pendingQuestion!.id }));
    }),
    /** The superseded turn and what its run produced leave the transcript; the log keeps them. */
    removeTurn: enqueueActions(({ enqueue }, { removed, at }: { removed: string[]; at: string }) => {
      enqueue.assign({ turn: [], hasPendingWork: false });
      if (removed.length > 0) enqueue.emit(record({ type: 'messages_removed', at, message_ids: removed }));
    }),
  },
}).createMachine({
  id: 'session',
  initial: 'idle',
  context: ({ input }) => initialContext(input.sessionId),
  states: {
    idle: {
      on: {
        'message.append': [queuedFirst, { actions: { type: 'appendUserMessage', params: ({ event }) => event } }],
        // Free now: a message for later runs like any other (the runtime resumes), unless queued ones wait to run first.
        'message.enqueue': [{ guard: not('hasQueued'), actions: { type: 'appendUserMessage', params: ({ event }) => event } }, ...enqueueWhileBusy()],
        'message.interrupt': { target: 'running', actions: [...startTurn] },
        'message.rollback': { target: 'running', actions: [removeTurn, ...startTurn] },
        resume: [
          { guard: 'hasPendingWork', target: 'running', actions: startRun },
          { actions: 'replyCompleted' },
        ],
        'queue.next': { guard: 'hasQueued', target: 'running', actions: [{ type: 'takeQueued', params: ({ event }) => event }, startRun] },
        'queue.remove': removeFromQueue(),
        'question.answer': answerWhenNotAsked(),
        cancel: { actions: { type: 'reject', params: notRunning } },
      },
    },
    running: {
      invoke: {
        id: 'run',
        src: 'agentRun',
        input: ({ context }) => ({ sessionId: context.sessionId, runId: context.runId!, startedAt: context.lastRun!.started_at }),
        onDone: [
          { guard: { type: 'runCompleted', params: ({ event }) => event.output }, target: 'completed', actions: { type: 'completeRun', params: ({ event }) => event.output } },
          { guard: { type: 'runAskedUser', params: ({ event }) => event.output }, target: 'awaitingUser', actions: { type: 'askUser', params: ({ event }) => event.output } },
          { target: 'idle', actions: { type: 'failRun', params: ({ event }) => event.output } },
        ],
      },
      on: {
        'message.append': {
          actions: {
            type: 'reject',
            params: ({ context }) => ({ code: 'session_busy', message: 'A run is active; wait for it or cancel it', details: { run_id: context.runId } }),
          },
        },
        'message.enqueue': enqueueWhileBusy(),
        // The active run is cancelled and a new one starts: `running` is entered again, with a new child.
        'message.interrupt': {
          target: 'running',
          reenter: true,
          actions: [{ type: 'abandonRun', params: ({ event }) => ({ status: 'cancelled', at: event.at, partial: event.partial }) }, ...startTurn],
        },
        'message.rollback': {
          target: 'running',
          reenter: true,
          actions: [{ type: 'abandonRun', params: ({ event }) => ({ status: 'cancelled', at: event.at }) }, removeTurn, ...startTurn],
        },
        resume: { actions: 'replyAlreadyRunning' },
        'queue.remove': removeFromQueue(),
        'question.answer': answerWhenNotAsked(),
        cancel: { target: 'idle', actions: { type: 'abandonRun', params: ({ event }) => ({ status: 'cancelled', at: event.at, partial: event.partial }) } },
        'run.interrupt': { target: 'idle', actions: { type: 'abandonRun', params: ({ event }) => ({ status: 'interrupted', at: event.at }) } },
        'run.fail': { target: 'idle', actions: { type: 'abandonRun', params: ({ event }) => ({ status: 'failed', at: event.at, error: event.error }) } },
      },
    },
    awaitingUser: {
      on: {
        'message.append': {
          actions: {
            type: 'reject',
            params: ({ context }) => ({
              code: 'question_pending',
              message: 'The session is waiting for an answer; use /respond',
              details: { question_id: context.pendingQuestion?.id },
            }),
          },
        },
        'message.enqueue': enqueueWhileBusy(),
        'message.interrupt': { target: 'running', actions: [withdrawQuestion, ...startTurn] },
        'message.rollback': { target: 'running', actions: [withdrawQuestion, removeTurn, ...startTurn] },
        resume: { actions: 'replyCompleted' },
        'queue.remove': removeFromQueue(),
        'question.answer': [
          { guard: { type: 'isValidAnswer', params: ({ event }) => event }, target: 'idle', actions: { type: 'recordAnswer', params: ({ event }) => event } },
          {
            guard: { type: 'answersOpenQuestion', params: ({ event }) => event },
            actions: {
              type: 'reject',
              params: ({ context }) => ({
                code: 'invalid_answer',
                message: `The answer must be one of: ${(context.pendingQuestion?.options ?? []).join(', ')}`,
                details: { options: context.pendingQuestion?.options ?? [] },
              }),
            },
          },
          ...answerWhenNotAsked(),
        ],
        cancel: { actions: { type: 'reject', params: notRunning } },
      },
    },
    completed: {
      on: {
        'message.append': [queuedFirst, { target: 'idle', actions: { type: 'appendUserMessage', params: ({ event }) => event } }],
        'message.enqueue': [{ guard: not('hasQueued'), target: 'idle', actions: { type: 'appendUserMessage', params: ({ event }) => event } }, ...enqueueWhileBusy()],
        'message.interrupt': { target: 'running', actions: [...startTurn] },
        'message.rollback': { target: 'running', actions: [removeTurn, ...startTurn] },
        resume: { actions: 'replyCompleted' },
        'queue.next': { guard: 'hasQueued', target: 'running', actions: [{ type: 'takeQueued', params: ({ event }) => event }, startRun] },
        'queue.remove': removeFromQueue(),
        'question.answer': answerWhenNotAsked(),
        cancel: { actions: { type: 'reject', params: notRunning } },
      },
    },
  },
});

/** Applies a rule's context change and records its events. */
function apply(enqueue: { assign(patch: Partial<SessionContext>): void; emit(event: SessionEmitted): void }, { patch, events }: Step): void {
  enqueue.assign(patch);
  for (const event of events) enqueue.emit(record(event));
}

function notRunning(): Rejection {
  return { code: 'not_running', message: 'No run is active' };
}

/**
 * While a run is active or a question waits, or queued messages are about to
 * run (the queue moves on the next turn of the event loop): the message joins
 * the queue, if it has room, and never runs before those queued earlier.
 */
function enqueueWhileBusy() {
  return [
    { guard: { type: 'queueHasRoom', params: ({ event }: { event: { maxQueued: number } }) => event }, actions: { type: 'enqueueMessage', params: ({ event }: { event: { message: Message } }) => event } },
    { actions: { type: 'reject', params: ({ event }: { event: { maxQueued: number } }) => queueFull(event.maxQueued) } },
  ] as const;
}

function removeFromQueue() {
  return [
    { guard: { type: 'isQueued', params: ({ event }: { event: { messageId: string } }) => event }, actions: { type: 'removeQueued', params: ({ event }: { event: { messageId: string; at: string } }) => event } },
    { actions: { type: 'reject', params: ({ event }: { event: { messageId: string } }) => notQueued(event.messageId) } },
  ] as const;
}

/** An answer when no question is open: a replay of the last answer, or a refusal. */
function answerWhenNotAsked() {
  return [
    { guard: { type: 'isReplayedAnswer', params: ({ event }: { event: Answer }) => event }, actions: 'replayAnswer' },
    { actions: { type: 'reject', params: ({ context, event }: { context: SessionContext; event: Answer }) => mismatchOrNoQuestion(context, event) } },
  ] as const;
}
