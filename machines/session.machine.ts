/**
 * The session statechart. Pure: no I/O, no clock, no id generation. Everything
 * time- or id-dependent arrives in the events, so a transition is a function of
 * (snapshot, event) alone and the model-based tests can walk it.
 *
 * The machine talks back through `emit`:
 * - `record`: a domain event for the session's durable log;
 * - `resume.outcome`, `answer.replayed`, `command.rejected`: the reply to the
 *   command that was just sent.
 */
import { and, enqueueActions, fromPromise, setup } from 'xstate';
import type { LastRun, Message, NewEvent, Question } from '../src/domain/types.js';

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
}

/** What a run ends with, normalised by the runtime (ids and times filled in). */
export type RunOutcome =
  | { kind: 'completed'; message: Message }
  | { kind: 'awaitingUser'; question: Question };

/** What a failed run rejects with. */
export interface RunFailure {
  message: string;
  at: string;
}

export type SessionMachineEvent =
  | { type: 'message.append'; message: Message }
  | { type: 'resume'; runId: string; at: string }
  | { type: 'question.answer'; questionId: string; answer: string; messageId: string; at: string }
  | { type: 'cancel'; at: string }
  | { type: 'run.interrupt'; at: string }
  /** The run died outside its own promise (the host crashed); it failed. */
  | { type: 'run.fail'; error: string; at: string };

export type ResumeOutcome = 'Started' | 'AlreadyRunning' | 'Completed';

export type RejectionCode =
  | 'session_busy'
  | 'question_pending'
  | 'no_pending_question'
  | 'question_mismatch'
  | 'invalid_answer'
  | 'not_running';

export type SessionEmitted =
  | { type: 'record'; event: NewEvent }
  | { type: 'resume.outcome'; outcome: ResumeOutcome; runId?: string }
  | { type: 'answer.replayed'; outcome: 'AlreadyRunning' | 'Completed'; runId?: string }
  | { type: 'command.rejected'; code: RejectionCode; message: string; details?: Record<string, unknown> };

export interface SessionMachineInput {
  sessionId: string;
}

type AnswerEvent = Extract<SessionMachineEvent, { type: 'question.answer' }>;

function answersOpenQuestion(context: SessionContext, event: AnswerEvent): boolean {
  return context.pendingQuestion?.id === event.questionId;
}

function isAllowedAnswer(question: Question, answer: string): boolean {
  return question.allow_custom || (question.options ?? []).includes(answer);
}

function isReplayedAnswer(context: SessionContext, event: AnswerEvent): boolean {
  return context.lastAnswer?.questionId === event.questionId && context.lastAnswer.answer === event.answer;
}

/** Why an answer that does not name the open question is refused. */
function answerRejection(context: SessionContext, event: AnswerEvent): SessionEmitted {
  const named = context.pendingQuestion !== null || context.lastAnswer?.questionId === event.questionId;
  return named
    ? { type: 'command.rejected', code: 'question_mismatch', message: `Question ${event.questionId} is not the open question, or was answered differently` }
    : { type: 'command.rejected', code: 'no_pending_question', message: 'The session has no pending question' };
}

function endRun(context: SessionContext, status: LastRun['status'], at: string, error?: string): LastRun | null {
  if (!context.lastRun) return null;
  return { ...context.lastRun, status, ended_at: at, ...(error === undefined ? {} : { error }) };
}

export const sessionMachine = setup({
  types: {
    context: {} as SessionContext,
    events: {} as SessionMachineEvent,
    emitted: {} as SessionEmitted,
    input: {} as SessionMachineInput,
  },
  actors: {
    // Replaced by the runtime with `machine.provide`; kept here so the machine is complete on its own.
    agentRun: fromPromise<RunOutcome, RunInput>(async () => {
      throw { message: 'No agent is provided to this machine', at: new Date(0).toISOString() } satisfies RunFailure;
    }),
  },
  guards: {
    hasPendingWork: ({ context }) => context.hasPendingWork,
    runCompleted: ({ event }) => (event as { output?: RunOutcome }).output?.kind === 'completed',
    answersOpenQuestion: ({ context, event }) => event.type === 'question.answer' && answersOpenQuestion(context, event),
    isAllowedAnswer: ({ context, event }) =>
      event.type === 'question.answer' && context.pendingQuestion !== null && isAllowedAnswer(context.pendingQuestion, event.answer),
    isReplayedAnswer: ({ context, event }) => event.type === 'question.answer' && isReplayedAnswer(context, event),
  },
  actions: {
    appendUserMessage: enqueueActions(({ event, enqueue }) => {
      if (event.type !== 'message.append') return;
      enqueue.assign({ hasPendingWork: true });
      enqueue.emit({ type: 'record', event: { type: 'message_appended', at: event.message.created_at, message: event.message } });
    }),
    startRun: enqueueActions(({ event, enqueue }) => {
      if (event.type !== 'resume') return;
      enqueue.assign({
        runId: event.runId,
        hasPendingWork: false,
        lastRun: { id: event.runId, status: 'running', started_at: event.at, ended_at: null },
      });
      enqueue.emit({ type: 'record', event: { type: 'run_started', at: event.at, run_id: event.runId } });
      enqueue.emit({ type: 'resume.outcome', outcome: 'Started', runId: event.runId });
    }),
    replyCompleted: enqueueActions(({ enqueue }) => enqueue.emit({ type: 'resume.outcome', outcome: 'Completed' })),
    replyAlreadyRunning: enqueueActions(({ context, enqueue }) =>
      enqueue.emit({ type: 'resume.outcome', outcome: 'AlreadyRunning', runId: context.runId ?? undefined }),
    ),
    replayAnswer: enqueueActions(({ context, enqueue }) =>
      enqueue.emit(
        context.runId
          ? { type: 'answer.replayed', outcome: 'AlreadyRunning', runId: context.runId }
          : { type: 'answer.replayed', outcome: 'Completed' },
      ),
    ),
    rejectAnswer: enqueueActions(({ context, event, enqueue }) => {
      if (event.type === 'question.answer') enqueue.emit(answerRejection(context, event));
    }),
    rejectInvalidAnswer: enqueueActions(({ context, enqueue }) =>
      enqueue.emit({
        type: 'command.rejected',
        code: 'invalid_answer',
        message: `The answer must be one of: ${(context.pendingQuestion?.options ?? []).join(', ')}`,
        details: { options: context.pendingQuestion?.options ?? [] },
      }),
    ),
    recordAnswer: enqueueActions(({ event, enqueue }) => {
      if (event.type !== 'question.answer') return;
      const message: Message = {
        id: event.messageId,
        role: 'tool',
        content: event.answer,
        created_at: event.at,
        tool_call_id: event.questionId,
      };
      enqueue.assign({
        pendingQuestion: null,
        hasPendingWork: true,
        lastAnswer: { questionId: event.questionId, answer: event.answer },
      });
      enqueue.emit({ type: 'record', event: { type: 'message_appended', at: event.at, message } });
      enqueue.emit({
        type: 'record',
        event: { type: 'question_answered', at: event.at, question_id: event.questionId, answer: event.answer },
      });
    }),
    rejectBusy: enqueueActions(({ context, enqueue }) =>
      enqueue.emit({
        type: 'command.rejected',
        code: 'session_busy',
        message: 'A run is active; wait for it or cancel it',
        details: { run_id: context.runId },
      }),
    ),
    rejectQuestionPending: enqueueActions(({ context, enqueue }) =>
      enqueue.emit({
        type: 'command.rejected',
        code: 'question_pending',
        message: 'The session is waiting for an answer; use /respond',
        details: { question_id: context.pendingQuestion?.id },
      }),
    ),
    rejectNotRunning: enqueueActions(({ enqueue }) =>
      enqueue.emit({ type: 'command.rejected', code: 'not_running', message: 'No run is active' }),
    ),
    cancelRun: enqueueActions(({ context, event, enqueue }) => {
      if (event.type !== 'cancel') return;
      enqueue.assign({ runId: null, hasPendingWork: true, lastRun: endRun(context, 'cancelled', event.at) });
      enqueue.emit({ type: 'record', event: { type: 'run_cancelled', at: event.at, run_id: context.runId ?? undefined } });
    }),
    completeRun: enqueueActions(({ context, event, enqueue }) => {
      const output = (event as { output?: RunOutcome }).output;
      if (output?.kind !== 'completed') return;
      const { message } = output;
      const runId = context.runId ?? undefined;
      enqueue.assign({ runId: null, lastRun: endRun(context, 'completed', message.created_at) });
      enqueue.emit({ type: 'record', event: { type: 'message_appended', at: message.created_at, run_id: runId, message } });
      enqueue.emit({ type: 'record', event: { type: 'run_completed', at: message.created_at, run_id: runId } });
    }),
    askUser: enqueueActions(({ context, event, enqueue }) => {
      const output = (event as { output?: RunOutcome }).output;
      if (output?.kind !== 'awaitingUser') return;
      const { question } = output;
      enqueue.assign({ runId: null, pendingQuestion: question, lastRun: endRun(context, 'awaiting_user', question.asked_at) });
      enqueue.emit({
        type: 'record',
        event: { type: 'question_asked', at: question.asked_at, run_id: context.runId ?? undefined, question },
      });
    }),
    failRun: enqueueActions(({ context, event, enqueue }) => {
      const failure = event.type === 'run.fail' ? { message: event.error, at: event.at } : toRunFailure((event as { error?: unknown }).error);
      enqueue.assign({ runId: null, hasPendingWork: true, lastRun: endRun(context, 'failed', failure.at, failure.message) });
      enqueue.emit({ type: 'record', event: { type: 'run_failed', at: failure.at, run_id: context.runId ?? undefined, error: failure.message } });
    }),
    interruptRun: enqueueActions(({ context, event, enqueue }) => {
      if (event.type !== 'run.interrupt') return;
      enqueue.assign({ runId: null, hasPendingWork: true, lastRun: endRun(context, 'interrupted', event.at) });
      enqueue.emit({ type: 'record', event: { type: 'run_interrupted', at: event.at, run_id: context.runId ?? undefined } });
    }),
  },
}).createMachine({
  id: 'session',
  initial: 'idle',
  // A run's failure outside `running` is stale (leaving `running` stops the run) and changes
  // nothing, like a stale result; unhandled, XState would put the whole actor in error.
  // The key is XState's own event, absent from the typed event union, hence the cast.
  on: { ['xstate.error.actor.run' as string]: {} },
  context: ({ input }) => ({
    sessionId: input.sessionId,
    runId: null,
    lastRun: null,
    pendingQuestion: null,
    lastAnswer: null,
    hasPendingWork: false,
  }),
  states: {
    idle: {
      on: {
        'message.append': { actions: 'appendUserMessage' },
        resume: [{ guard: 'hasPendingWork', target: 'running', actions: 'startRun' }, { actions: 'replyCompleted' }],
        'question.answer': [{ guard: 'isReplayedAnswer', actions: 'replayAnswer' }, { actions: 'rejectAnswer' }],
        cancel: { actions: 'rejectNotRunning' },
      },
    },
    running: {
      invoke: {
        id: 'run',
        src: 'agentRun',
        input: ({ context }) => ({ sessionId: context.sessionId, runId: context.runId! }),
        onDone: [
          { guard: 'runCompleted', target: 'completed', actions: 'completeRun' },
          { target: 'awaitingUser', actions: 'askUser' },
        ],
        onError: { target: 'idle', actions: 'failRun' },
      },
      on: {
        'message.append': { actions: 'rejectBusy' },
        resume: { actions: 'replyAlreadyRunning' },
        'question.answer': [{ guard: 'isReplayedAnswer', actions: 'replayAnswer' }, { actions: 'rejectAnswer' }],
        cancel: { target: 'idle', actions: 'cancelRun' },
        'run.interrupt': { target: 'idle', actions: 'interruptRun' },
        'run.fail': { target: 'idle', actions: 'failRun' },
      },
    },
    awaitingUser: {
      on: {
        'message.append': { actions: 'rejectQuestionPending' },
        resume: { actions: 'replyCompleted' },
        'question.answer': [
          { guard: and(['answersOpenQuestion', 'isAllowedAnswer']), target: 'idle', actions: 'recordAnswer' },
          { guard: 'answersOpenQuestion', actions: 'rejectInvalidAnswer' },
          { guard: 'isReplayedAnswer', actions: 'replayAnswer' },
          { actions: 'rejectAnswer' },
        ],
        cancel: { actions: 'rejectNotRunning' },
      },
    },
    completed: {
      on: {
        'message.append': { target: 'idle', actions: 'appendUserMessage' },
        resume: { actions: 'replyCompleted' },
        'question.answer': [{ guard: 'isReplayedAnswer', actions: 'replayAnswer' }, { actions: 'rejectAnswer' }],
        cancel: { actions: 'rejectNotRunning' },
      },
    },
  },
});

/** A run may reject with anything; the log needs a message and a time. */
function toRunFailure(error: unknown): RunFailure {
  if (typeof error === 'object' && error !== null && 'message' in error) {
    const { message, at } = error as { message: unknown; at?: unknown };
    return { message: String(message), at: typeof at === 'string' ? at : new Date(0).toISOString() };
  }
  return { message: String(error), at: new Date(0).toISOString() };
}
