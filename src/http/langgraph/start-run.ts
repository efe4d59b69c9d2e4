/**
 * A LangGraph run request as a runtime command: input with a human message
 * appends it and runs; `command.resume` answers the pending question; neither
 * resumes the session's pending work. `multitask_strategy` decides what a new
 * message does while the thread is busy, as the runtime's strategies of the
 * same names do.
 */
import { SessionError } from '../../domain/errors.js';
import type { RespondOutcome } from '../../domain/outcomes.js';
import type { MultitaskStrategy, QueuedMessage, SessionView } from '../../domain/types.js';
import type { TenantSessions } from '../../runtime/runtime.js';
import { LangGraphError, unsupported } from './errors.js';
import { userTurn } from './messages.js';
import { refuseUnsupported, type RunBody } from './schemas.js';
import { MAX_TEXT_CHARS } from '../validation.js';

export interface StartedRun {
  /** The run's id; for a queued message, the message's id until its run starts. */
  runId: string;
  /** The log's last `seq` before the command; null when the request joined a run already under way, or queued. */
  eventsAfter: number | null;
  strategy: MultitaskStrategy;
  /** Set when the message waits behind the active run (`enqueue`). */
  queued: QueuedMessage | null;
}

/**
 * Appends a user turn with the request's strategy. `reject` (LangGraph's
 * default) answers 409 on a busy thread; `interrupt` and `rollback` start the
 * run at once; `enqueue` queues the message until the thread is free.
 */
export async function appendTurn(sessions: TenantSessions, id: string, content: string, strategy: MultitaskStrategy, agent?: string): Promise<StartedRun> {
  try {
    const result = await sessions.appendMessage(id, content, { strategy, agent });
    if (result.outcome === 'Started') return { runId: result.run_id, eventsAfter: result.events_after, strategy, queued: null };
    if (result.outcome === 'Queued') return { runId: result.message.id, eventsAfter: null, strategy, queued: result.message };
    throw new Error('An appended message neither started nor queued a run');
  } catch (error) {
    if (error instanceof SessionError && error.code === 'question_pending') {
      throw new LangGraphError(409, 'Thread is interrupted: answer its interrupt with command.resume, or send the input with multitask_strategy "interrupt" or "rollback"');
    }
    throw error;
  }
}

/** A run without new input on a busy thread: `reject` answers 409; there is no message to queue or to take over with. */
function busy(strategy: MultitaskStrategy): never {
  if (strategy === 'reject') throw new SessionError('session_busy', 'A run is active');
  throw unsupported(`multitask_strategy "${strategy}" for a run without new input on a busy thread`);
}

/** The run's input goes to `session.agent`, the run's assistant: a thread that has never run takes it. */
export async function startRun(sessions: TenantSessions, session: SessionView, body: RunBody): Promise<StartedRun> {
  refuseUnsupported(body);
  const strategy = body.multitask_strategy ?? 'reject';
  const checkpointId = body.checkpoint?.checkpoint_id ?? body.checkpoint_id;
  // The latest checkpoint is where a run starts anyway; an earlier one would be time travel.
  if (checkpointId && checkpointId !== String(session.last_event_seq)) throw unsupported('running from an earlier checkpoint (time travel)');
  const content = userTurn(body.input);
  const resume = body.command?.resume;
  if (resume !== undefined && content !== null) throw new LangGraphError(422, 'Send either input or command.resume, not both');
  if (resume !== undefined) return answer(sessions, session, resume, strategy);
  if (content !== null) return appendTurn(sessions, session.id, content, strategy, session.agent);

  const outcome = await sessions.resume(session.id);
  switch (outcome.outcome) {
    case 'Started':
      return { runId: outcome.run_id, eventsAfter: outcome.events_after, strategy, queued: null };
    case 'AlreadyRunning':
      return busy(strategy);
    case 'NotFound':
      throw new LangGraphError(404, `Thread ${session.id} not found`);
    case 'Completed':
      throw new LangGraphError(409, 'Nothing to run: send input.messages, or command.resume to answer an interrupt');
  }
}

async function answer(sessions: TenantSessions, session: SessionView, resume: unknown, strategy: MultitaskStrategy): Promise<StartedRun> {
  const byId = resume !== null && typeof resume === 'object' && !Array.isArray(resume) ? Object.entries(resume as Record<string, unknown>) : null;
  if (byId && byId.length !== 1) throw new LangGraphError(422, 'command.resume must answer one interrupt');
  // Named by id, an answer already given is recognised as a replay even once its run is under way.
  const questionId = byId ? byId[0][0] : session.pending_question?.id;
  const value = byId ? byId[0][1] : resume;
  if (typeof value !== 'string' || value.length === 0) {
    throw new LangGraphError(422, 'command.resume must be the answer (a non-empty string), or { "<interrupt id>": answer }');
  }
  if (value.length > MAX_TEXT_CHARS) throw new LangGraphError(422, `command.resume: the answer must be at most ${MAX_TEXT_CHARS} characters`);
  if (!questionId) return noInterrupt(session, strategy);
  let outcome: RespondOutcome;
  try {
    outcome = await sessions.respond(session.id, questionId, value);
  } catch (error) {
    const refused = error instanceof SessionError && (error.code === 'no_pending_question' || error.code === 'question_mismatch');
    if (refused) return noInterrupt(session, strategy);
    throw error;
  }
  if (outcome.outcome === 'Started') return { runId: outcome.run_id, eventsAfter: outcome.events_after, strategy, queued: null };
  // The same answer again: the run it started is the one to follow.
  if (outcome.outcome === 'AlreadyRunning') return { runId: outcome.run_id, eventsAfter: null, strategy, queued: null };
  return noInterrupt(session, strategy);
}

/** A resume with nothing to answer: a busy thread is busy, otherwise there is no interrupt. */
function noInterrupt(session: SessionView, strategy: MultitaskStrategy): never {
  if (session.state === 'running') busy(strategy);
  const pending = session.pending_question;
  throw new LangGraphError(409, pending ? `That interrupt is not pending; ${pending.id} is` : 'Thread has no interrupt to resume');
}
