/**
 * Messages sent while the session is busy, by strategy (LangGraph's names):
 * `enqueue` waits its turn, `interrupt` cancels the active run (keeping what it
 * said) or withdraws the open question and runs now, `rollback` does the same
 * and also removes the superseded turn from the transcript. The queue moves by
 * itself whenever the session is free.
 */
import { queueHasRoom } from '../../../machines/session.rules.js';
import { runIdOf, isRunEnding } from '../../domain/events.js';
import { otherAgent, SessionError } from '../../domain/errors.js';
import { newId, now } from '../../domain/ids.js';
import type { AppendOutcome } from '../../domain/outcomes.js';
import type { Message, MultitaskStrategy } from '../../domain/types.js';
import type { SessionHost } from '../session-host.js';
import { onSession, SYSTEM, type RuntimeContext, type Tenant } from './context.js';
import { refuseIfRejected, startRun } from './commands.js';
import { askOwner, partialOf, remoteOwner } from './owner.js';
import type { AppendOptions } from './turns.js';

type Sent = AppendOutcome<Message>;
type Remote = { owner: string; runId: string; lastSeq: number };

/** Enqueue, interrupt or rollback; `reject` is the plain message of turns.ts. */
export async function sendWithStrategy(
  ctx: RuntimeContext,
  tenant: Tenant,
  id: string,
  content: string,
  strategy: Exclude<MultitaskStrategy, 'reject'>,
  options: AppendOptions,
): Promise<Sent> {
  const message: Message = { id: newId('msg'), role: 'user', content, created_at: now() };
  const acknowledge = (host: SessionHost, result: Sent) => {
    if (options.acknowledge) host.acknowledge(options.acknowledge(result));
    return result;
  };
  if (strategy === 'enqueue') return enqueue(ctx, tenant, id, message, options, acknowledge);
  // A rollback removes what the superseded run produced; what is durable is read first, what is not is the host's.
  const transcript = strategy === 'rollback' ? await ctx.store.readRecentMessages(id, 1_000) : [];
  /** `takeOver`: that run's owner did not answer, so it is superseded here in storage, as a cancel does (its lease ends with the commit). */
  const attempt = (superseded?: string, takeOver?: string) =>
    onSession(ctx, tenant, id, (host): Sent | Remote => {
      const owner = remoteOwner(ctx, host);
      if (owner && !(takeOver !== undefined && host.runId === takeOver)) return { owner, ...remoteRun(host, options.agent) };
      const takeover = { message, runId: newId('run'), at: now() };
      const eventsAfter = host.lastSeq;
      const reply =
        strategy === 'interrupt'
          ? host.send({ type: 'message.interrupt', ...takeover, ...partialOf(host) }, options.agent)
          : host.send({ type: 'message.rollback', ...takeover, removed: supersededMessages(host, transcript, superseded) }, options.agent);
      refuseIfRejected(reply);
      return acknowledge(host, { message, outcome: 'Started', run_id: takeover.runId, events_after: eventsAfter });
    });
  const sent = await attempt();
  if ('outcome' in sent) return sent;
  // The run executes in another process: its owner cancels it (keeping its partial reply for an interrupt), holding its
  // queue, then the message runs here, ahead of the queue, as it would on the owner.
  const ended = await askOwner(ctx, id, sent.owner, { kind: 'cancel', runId: sent.runId, keepPartial: strategy === 'interrupt', holdQueue: true }, sent.lastSeq, (event) => runIdOf(event) === sent.runId && isRunEnding(event));
  if (!ended) ctx.logger.warn({ session_id: id, owner: sent.owner }, 'the owner of a run did not answer a cancel');
  const again = strategy === 'rollback' ? await ctx.store.readRecentMessages(id, 1_000) : [];
  transcript.splice(0, transcript.length, ...again);
  // Only a cancelled run is superseded: one that completed meanwhile keeps its reply. Without an answer, the same run is taken over.
  const retried = await attempt(ended?.type === 'run_cancelled' ? sent.runId : undefined, ended ? undefined : sent.runId);
  if ('outcome' in retried) return retried;
  // Another run started meanwhile, elsewhere.
  throw new SessionError('session_busy', 'A run is active in another instance and could not be stopped now; try again shortly', { run_id: retried.runId });
}

async function enqueue(
  ctx: RuntimeContext,
  tenant: Tenant,
  id: string,
  message: Message,
  options: AppendOptions,
  acknowledge: (host: SessionHost, result: Sent) => Sent,
): Promise<Sent> {
  const { agent } = options;
  const maxQueued = ctx.maxQueued;
  const sent = await onSession(ctx, tenant, id, (host): Sent | Remote => {
    const owner = remoteOwner(ctx, host);
    // Full, seen from here: refused without asking the owner.
    if (owner && queueHasRoom(host.context, maxQueued)) return { owner, ...remoteRun(host, agent) };
    const reply = host.send({ type: 'message.enqueue', message, maxQueued }, agent);
    refuseIfRejected(reply);
    if (reply?.type === 'reply' && reply.reply.outcome === 'Queued') return acknowledge(host, { message, outcome: 'Queued', position: reply.reply.position });
    // The session was free: the message is a turn like any other.
    return acknowledge(host, { message, ...startRun(host) });
  });
  if ('outcome' in sent) return sent;
  const queued = await askOwner(ctx, id, sent.owner, { kind: 'enqueue', message, maxQueued }, sent.lastSeq, (event) => event.type === 'message_queued' && event.message.id === message.id);
  if (queued?.type === 'message_queued') {
    const result: Sent = { message, outcome: 'Queued', position: queued.position };
    // The owner queued it in its own commit: the response is kept just after, so a retry replays it. The message is
    // queued whatever becomes of that record, so the answer says so.
    if (options.acknowledge) {
      await ctx.store.keepIdempotency(options.acknowledge(result)).catch((err: unknown) => {
        ctx.logger.warn({ err, session_id: id }, 'could not keep the Idempotency-Key response of a message queued by another instance');
      });
    }
    return result;
  }
  // The run ended meanwhile (the session may be free now), or its owner is gone: try again here.
  return enqueue(ctx, tenant, id, message, options, acknowledge);
}

/** The run another process executes, for its owner to be asked; the session has had its agent since that run began. */
function remoteRun(host: SessionHost, agent: string | undefined): Omit<Remote, 'owner'> {
  if (agent !== undefined && host.info.agent !== agent) throw otherAgent(host.id, host.info.agent, agent);
  return { runId: host.runId!, lastSeq: host.durable.lastSeq };
}

/** Removes a message from the queue before it runs. */
export async function removeQueued(ctx: RuntimeContext, tenant: Tenant, id: string, messageId: string): Promise<void> {
  const remote = await onSession(ctx, tenant, id, (host): Remote | null => {
    const owner = remoteOwner(ctx, host);
    if (owner && host.context.queue.some((queued) => queued.id === messageId)) return { owner, runId: host.runId!, lastSeq: host.durable.lastSeq };
    refuseIfRejected(host.send({ type: 'queue.remove', messageId, at: now() }));
    return null;
  });
  if (!remote) return;
  const removed = await askOwner(ctx, id, remote.owner, { kind: 'dequeue', messageId }, remote.lastSeq, (event) => event.type === 'message_dequeued' && event.message_id === messageId);
  if (!removed) await removeQueued(ctx, tenant, id, messageId);
}

/** The session is free and has messages queued: the first one runs. Called after every durable change that may have freed it. */
export async function advanceQueue(ctx: RuntimeContext, id: string): Promise<void> {
  await onSession(ctx, SYSTEM, id, (host) => {
    if ((host.state === 'idle' || host.state === 'completed') && host.context.queue.length > 0) {
      host.send({ type: 'queue.next', runId: newId('run'), at: now() });
    }
  });
}

/**
 * What a rollback removes: the unanswered turn and everything said since it
 * began (the replies kept from runs an interrupt cancelled, calls and results
 * of earlier runs of the turn), and everything the superseded run produced:
 * the active one, the one that asked the open question, or the one another
 * process just cancelled for it (`cancelled`).
 */
function supersededMessages(host: SessionHost, transcript: readonly Message[], cancelled?: string): string[] {
  const { turn, runId, lastRun } = host.context;
  const superseded = cancelled ?? runId ?? (host.state === 'awaitingUser' ? lastRun?.id : undefined);
  if (!superseded) return [];
  const ids = new Set(turn);
  // No run completed since the turn's first message (a completion ends the turn): all that follows it belongs to the turn.
  const start = transcript.findIndex((message) => ids.has(message.id));
  if (start >= 0) for (const message of transcript.slice(start)) ids.add(message.id);
  for (const message of transcript) if (message.run_id === superseded) ids.add(message.id);
  for (const messageId of host.runOutput?.messageIds ?? []) ids.add(messageId);
  return [...ids];
}
