/**
 * Commands for a session whose run executes in another process. That process
 * (the lease owner) is the only writer while the run lasts, so it is asked to
 * act, and the asker waits until the log shows it did. An owner that does not
 * answer within the grace period is presumed gone: the caller falls back to
 * acting in storage itself, which ends the owner's lease at once.
 */
import type { SessionEvent } from '../../domain/events.js';
import { newId, now } from '../../domain/ids.js';
import type { Message } from '../../domain/types.js';
import { OWNER_GRACE_MS, type OwnerCommand } from '../ports.js';
import type { SessionHost } from '../session-host.js';
import { onSession, SYSTEM, type RuntimeContext } from './context.js';

/** The process running the session's run, when it is another one. */
export function remoteOwner(ctx: RuntimeContext, host: SessionHost): string | null {
  const owner = host.durable.leaseOwner;
  return host.state === 'running' && !host.hasLiveRun && ctx.feed !== null && owner !== null && owner !== ctx.instanceId ? owner : null;
}

/**
 * Asks `owner` to carry out `command`; resolves with the first event after
 * `lastSeq` that `until` accepts, or null when none came within the grace period.
 */
export function askOwner(
  ctx: RuntimeContext,
  id: string,
  owner: string,
  command: OwnerCommand,
  lastSeq: number,
  until: (event: SessionEvent) => boolean,
): Promise<SessionEvent | null> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => finish(null), OWNER_GRACE_MS);
    const unsubscribe = ctx.bus.subscribe(id, lastSeq, {
      deliver: ({ event }) => {
        if (until(event)) finish(event);
      },
      end: () => finish(null),
    });
    function finish(event: SessionEvent | null): void {
      clearTimeout(timer);
      unsubscribe();
      resolve(event);
    }
    // Anything committed before the subscription is read from the log.
    ctx.bus.refresh(id);
    ctx.feed!.requestCommand(owner, id, command).catch((error: unknown) => {
      clearTimeout(timer);
      unsubscribe();
      reject(error);
    });
  });
}

/** Carries out what another process asked of this one, if the session's run still executes here. */
export async function obeyOwnerCommand(ctx: RuntimeContext, id: string, command: OwnerCommand): Promise<void> {
  if (!ctx.registry.peek(id)?.hasLiveRun) return;
  await onSession(ctx, SYSTEM, id, (host) => {
    if (!host.hasLiveRun) return;
    switch (command.kind) {
      case 'cancel':
        if (host.runId !== command.runId) return;
        if (command.holdQueue) ctx.holdQueue(id, OWNER_GRACE_MS);
        host.send({ type: 'cancel', at: now(), ...(command.keepPartial ? partialOf(host) : {}) });
        return;
      case 'enqueue':
        host.send({ type: 'message.enqueue', message: command.message, maxQueued: command.maxQueued });
        return;
      case 'dequeue':
        host.send({ type: 'queue.remove', messageId: command.messageId, at: now() });
        return;
    }
  });
}

/** What the run executing here has said since its last message, as an assistant message to keep. */
export function partialOf(host: SessionHost): { partial?: Message } {
  const text = host.runOutput?.text ?? '';
  return text === '' ? {} : { partial: { id: newId('msg'), role: 'assistant', content: text, created_at: now() } };
}
