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
import { emit, enqueueActions, fromPromise, setup } from 'xstate';
import type { RejectionCode } from '../src/domain/errors.js';
import type { LogEvent } from '../src/domain/events.js';
import type { Decided, OutcomeOf } from '../src/domain/outcomes.js';
import type { LastRun, Message, Question } from '../src/domain/types.js';
import { abandoned, endRun, isAllowedAnswer, isReplayedAnswer, mismatchOrNoQuestion, type Abandonment, type Answer } from './session.rules.js';

export interface SessionContext {
  sessionId: string;
  /** The active run; set only in `running`. */
  runId: string | null;
  lastRun: LastRun | null;
  pendingQuestion: Question | null;
  /** The last accepted answer, so a repeated `respond` is recognised as a replay. */
  lastAnswer: { questionId: string; answer: string } | null;
  /** Mirrors Bamboo's `has_pending_user_message`: a user turn is waiting for a run. */
  hasPendingWork: boolean;
}

export interface RunInput {
  sessionId: string;
  runId: string;
  startedAt: string;
}

/** How a run ended, normalised by the runtime (ids and times filled in). A run never rejects: a failure is an end too. */
export type RunEnd =
  | { kind: 'completed'; message: Message }
  | { kind: 'awaitingUser'; question: Question }
  | { kind: 'failed'; error: string; at: string };

export type SessionMachineEvent =
  | { type: 'message.append'; message: Message }
  | { type: 'resume'; runId: string; at: string }
  | ({ type: 'question.answer' } & Answer)
  | { type: 'cancel'; at: string }
  /** The run was cut off by a shutdown, a crash or a lost lease. */
  | { type: 'run.interrupt'; at: string }
  /** The run died outside its own promise (its host broke); it failed. */
  | { type: 'run.fail'; error: string; at: string };

export type SessionReply = Decided<OutcomeOf<'Started' | 'AlreadyRunning' | 'Completed'>> & { replayed?: true };

export interface Rejection {
  code: RejectionCode;
  message: string;
  details?: Record<string, unknown>;
}

export type SessionEmitted =
  | { type: 'record'; event: LogEvent }
  | { type: 'reply'; reply: SessionReply }
  | { type: 'rejected'; rejection: Rejection };

export interface SessionMachineInput {
  sessionId: string;
}

/** A new session's context: fresh, no run, nothing pending. */
export function initialContext(sessionId: string): SessionContext {
  return { sessionId, runId: null, lastRun: null, pendingQuestion: null, lastAnswer: null, hasPendingWork: false };
}

const record = (event: LogEvent) => ({ type: 'record', event }) as const;

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
  },
  actions: {
    appendUserMessage: enqueueActions(({ enqueue }, { message }: { message: Message }) => {
      enqueue.assign({ hasPendingWork: true });
      enqueue.emit(record({ type: 'message_appended', at: message.created_at, message }));
    }),
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
    recordAnswer: enqueueActions(({ enqueue }, answer: Answer) => {
      const message: Message = { id: answer.messageId, role: 'tool', content: answer.answer, created_at: answer.at, tool_call_id: answer.questionId };
      enqueue.assign({ pendingQuestion: null, hasPendingWork: true, lastAnswer: { questionId: answer.questionId, answer: answer.answer } });
      enqueue.emit(record({ type: 'message_appended', at: answer.at, message }));
      enqueue.emit(record({ type: 'question_answered', at: answer.at, question_id: answer.questionId, answer: answer.answer }));
    }),
    /** Ends the active run without a result: its user turn is still unanswered, so `resume` retries it. */
    abandonRun: enqueueActions(({ context, enqueue }, { status, at, error }: Abandonment) => {
      const { patch, event } = abandoned(context, status, at, error);
      enqueue.assign(patch);
      enqueue.emit(record(event));
    }),
    failRun: enqueueActions(({ context, enqueue }, end: RunEnd) => {
      if (end.kind !== 'failed') return;
      const { patch, event } = abandoned(context, 'failed', end.at, end.error);
      enqueue.assign(patch);
      enqueue.emit(record(event));
    }),
    completeRun: enqueueActions(({ context, enqueue }, end: RunEnd) => {
      if (end.kind !== 'completed') return;
      const { message } = end;
      const runId = context.runId!;
      enqueue.assign({ runId: null, lastRun: endRun(context.lastRun, 'completed', message.created_at) });
      enqueue.emit(record({ type: 'message_appended', at: message.created_at, run_id: runId, message }));
      enqueue.emit(record({ type: 'run_completed', at: message.created_at, run_id: runId }));
    }),
    askUser: enqueueActions(({ context, enqueue }, end: RunEnd) => {
      if (end.kind !== 'awaitingUser') return;
      const { question } = end;
      enqueue.assign({ runId: null, pendingQuestion: question, lastRun: endRun(context.lastRun, 'awaiting_user', question.asked_at) });
      enqueue.emit(record({ type: 'question_asked', at: question.asked_at, run_id: context.runId!, question }));
    }),
  },
}).createMachine({
  id: 'session',
  initial: 'idle',
  context: ({ input }) => initialContext(input.sessionId),
  states: {
    idle: {
      on: {
        'message.append': { actions: { type: 'appendUserMessage', params: ({ event }) => event } },
        resume: [
          { guard: 'hasPendingWork', target: 'running', actions: { type: 'startRun', params: ({ event }) => event } },
          { actions: 'replyCompleted' },
        ],
        'question.answer': [
          { guard: { type: 'isReplayedAnswer', params: ({ event }) => event }, actions: 'replayAnswer' },
          { actions: { type: 'reject', params: ({ context, event }) => mismatchOrNoQuestion(context, event) } },
        ],
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
        resume: { actions: 'replyAlreadyRunning' },
        'question.answer': [
          { guard: { type: 'isReplayedAnswer', params: ({ event }) => event }, actions: 'replayAnswer' },
          { actions: { type: 'reject', params: ({ context, event }) => mismatchOrNoQuestion(context, event) } },
        ],
        cancel: { target: 'idle', actions: { type: 'abandonRun', params: ({ event }) => ({ status: 'cancelled', at: event.at }) } },
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
        resume: { actions: 'replyCompleted' },
        'question.answer': [
          {
            guard: { type: 'isValidAnswer', params: ({ event }) => event },
            target: 'idle',
            actions: { type: 'recordAnswer', params: ({ event }) => event },
          },
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
          { guard: { type: 'isReplayedAnswer', params: ({ event }) => event }, actions: 'replayAnswer' },
          { actions: { type: 'reject', params: ({ context, event }) => mismatchOrNoQuestion(context, event) } },
        ],
        cancel: { actions: { type: 'reject', params: notRunning } },
      },
    },
    completed: {
      on: {
        'message.append': { target: 'idle', actions: { type: 'appendUserMessage', params: ({ event }) => event } },
        resume: { actions: 'replyCompleted' },
        'question.answer': [
          { guard: { type: 'isReplayedAnswer', params: ({ event }) => event }, actions: 'replayAnswer' },
          { actions: { type: 'reject', params: ({ context, event }) => mismatchOrNoQuestion(context, event) } },
        ],
        cancel: { actions: { type: 'reject', params: notRunning } },
      },
    },
  },
});

function notRunning(): Rejection {
  return { code: 'not_running', message: 'No run is active' };
}

