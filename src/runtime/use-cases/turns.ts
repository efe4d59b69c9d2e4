/** A user turn, resume and an answer: the commands that start runs. */
import { SessionError } from '../../domain/errors.js';
import { newId, now } from '../../domain/ids.js';
import type { AppendOutcome, RespondOutcome, ResumeOutcome } from '../../domain/outcomes.js';
import type { Message, MultitaskStrategy } from '../../domain/types.js';
import type { IdempotencyRecord } from '../../storage/store.js';
import { onSession, SYSTEM, type RuntimeContext, type Tenant } from './context.js';
import { refuseIfRejected, resumeHost, startRun } from './commands.js';
import { sendWithStrategy } from './multitask.js';

/** Renders the response that acknowledges a command, kept (in the command's own commit) for its Idempotency-Key. */
export type Acknowledge<R> = (result: R) => IdempotencyRecord;

export interface AppendOptions {
  /** Start a run right away (default); otherwise the session is left idle with pending work. Only with `reject`. */
  resume?: boolean;
  /** What happens while a run is active or a question waits. Default `reject`. */
  strategy?: MultitaskStrategy;
  acknowledge?: Acknowledge<AppendOutcome<Message>>;
  /** The agent the run must have: a session that has never had a message takes it (see SessionHost.send). */
  agent?: string;
}

export async function appendMessage(ctx: RuntimeContext, tenant: Tenant, id: string, content: string, options: AppendOptions = {}): Promise<AppendOutcome<Message>> {
  if (tenant !== SYSTEM) await ctx.quotas.checkGrowth(tenant);
  if (options.strategy && options.strategy !== 'reject') return sendWithStrategy(ctx, tenant, id, content, options.strategy, options);
  return onSession(ctx, tenant, id, (host) => {
    const message: Message = { id: newId('msg'), role: 'user', content, created_at: now() };
    refuseIfRejected(host.send({ type: 'message.append', message }, options.agent));
    const result: AppendOutcome<Message> = options.resume === false ? { message, outcome: null } : { message, ...startRun(host) };
    if (options.acknowledge) host.acknowledge(options.acknowledge(result));
    return result;
  });
}

/** Exactly one of NotFound, Completed, AlreadyRunning, Started. */
export async function resumeSession(ctx: RuntimeContext, tenant: Tenant, id: string): Promise<ResumeOutcome> {
  try {
    return await onSession(ctx, tenant, id, resumeHost);
  } catch (error) {
    if (error instanceof SessionError && error.code === 'session_not_found') return { outcome: 'NotFound' };
    throw error;
  }
}

/** Records the answer to the open question, then resumes; the same answer again is a harmless replay. */
export async function respond(
  ctx: RuntimeContext,
  tenant: Tenant,
  id: string,
  answer: { questionId: string; answer: string },
  acknowledge?: Acknowledge<RespondOutcome>,
): Promise<RespondOutcome> {
  if (tenant !== SYSTEM) await ctx.quotas.checkGrowth(tenant);
  return onSession(ctx, tenant, id, (host): RespondOutcome => {
    const reply = host.send({ type: 'question.answer', ...answer, messageId: newId('msg'), at: now() });
    refuseIfRejected(reply);
    if (reply?.type === 'reply' && reply.reply.replayed) {
      const { replayed: _replayed, ...outcome } = reply.reply;
      return outcome.outcome === 'AlreadyRunning' ? { ...outcome, replayed: true } : { outcome: 'Completed', replayed: true };
    }
    const result: RespondOutcome = { ...startRun(host), replayed: false };
    if (acknowledge) host.acknowledge(acknowledge(result));
    return result;
  });
}
