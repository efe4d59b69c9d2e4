/** Cancel: abort the active run, wherever it executes. */
import { SessionError } from '../../domain/errors.js';
import type { SessionEvent } from '../../domain/events.js';
import { isRunEnding } from '../../domain/events.js';
import { now } from '../../domain/ids.js';
import type { OutcomeOf } from '../../domain/outcomes.js';
import { onSession, SYSTEM, type RuntimeContext, type Tenant } from './context.js';
import { refuseIfRejected } from './commands.js';

/** How long the owner of a run in another process has to end it before this process cancels it in storage. */
const OWNER_GRACE_MS = 3_000;

type Cancelled = OutcomeOf<'Cancelled'>;

export async function cancelRun(ctx: RuntimeContext, tenant: Tenant, id: string): Promise<Cancelled> {
  const target = await onSession(ctx, tenant, id, (host): Cancelled | { owner: string; runId: string; lastSeq: number } => {
    const owner = host.durable.leaseOwner;
    if (host.state === 'running' && !host.hasLiveRun && ctx.feed && owner !== null && owner !== ctx.instanceId) {
      return { owner, runId: host.runId!, lastSeq: host.durable.lastSeq };
    }
    const runId = host.runId;
    refuseIfRejected(host.send({ type: 'cancel', at: now() }));
    return { outcome: 'Cancelled', run_id: runId! };
  });
  if ('outcome' in target) return target;

  // The run executes in another process: its owner aborts it and records the end.
  const ending = await waitForRunEnd(ctx, id, target.runId, target.lastSeq, () => ctx.feed!.requestCancel(target.owner, id, target.runId));
  if (ending?.type === 'run_cancelled') return { outcome: 'Cancelled', run_id: target.runId };
  if (ending) throw new SessionError('not_running', 'No run is active');
  // No word from the owner: cancel in storage. Its lease ends with this commit; it stops at its next write or renewal.
  return onSession(ctx, tenant, id, (host) => {
    const runId = host.runId;
    refuseIfRejected(host.send({ type: 'cancel', at: now() }));
    return { outcome: 'Cancelled', run_id: runId! };
  });
}

/** Cancels a run executing here at its owner's request from another process. */
export async function cancelOwnRun(ctx: RuntimeContext, id: string, runId: string): Promise<void> {
  const host = ctx.registry.peek(id);
  if (!host?.hasLiveRun || host.runId !== runId) return;
  await onSession(ctx, SYSTEM, id, (current) => {
    if (current.hasLiveRun && current.runId === runId) current.send({ type: 'cancel', at: now() });
  });
}

/** Resolves with the event that ended `runId`, or null if none came within the grace period. */
function waitForRunEnd(ctx: RuntimeContext, id: string, runId: string, lastSeq: number, ask: () => Promise<void>): Promise<SessionEvent | null> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => finish(null), OWNER_GRACE_MS);
    const unsubscribe = ctx.bus.subscribe(id, lastSeq, {
      deliver: ({ event }) => {
        if ('run_id' in event && event.run_id === runId && isRunEnding(event)) finish(event);
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
    ask().catch((error: unknown) => {
      clearTimeout(timer);
      unsubscribe();
      reject(error);
    });
  });
}
