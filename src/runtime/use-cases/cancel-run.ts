/** Cancel: abort the active run, wherever it executes. */
import { SessionError } from '../../domain/errors.js';
import { isRunEnding, runIdOf } from '../../domain/events.js';
import { now } from '../../domain/ids.js';
import type { OutcomeOf } from '../../domain/outcomes.js';
import type { SessionHost } from '../session-host.js';
import { onSession, type RuntimeContext, type Tenant } from './context.js';
import { refuseIfRejected } from './commands.js';
import { askOwner, remoteOwner } from './owner.js';

type Cancelled = OutcomeOf<'Cancelled'>;

/** `runId`: cancel only that run; another active run (or none) answers `not_running`. */
export async function cancelRun(ctx: RuntimeContext, tenant: Tenant, id: string, runId?: string): Promise<Cancelled> {
  const target = await onSession(ctx, tenant, id, (host): Cancelled | { owner: string; runId: string; lastSeq: number } => {
    refuseOtherRun(host, runId);
    const owner = remoteOwner(ctx, host);
    if (owner) return { owner, runId: host.runId!, lastSeq: host.durable.lastSeq };
    return cancelHere(host);
  });
  if ('outcome' in target) return target;

  // The run executes in another process: its owner aborts it and records the end.
  const { owner, lastSeq } = target;
  const ending = await askOwner(ctx, id, owner, { kind: 'cancel', runId: target.runId, keepPartial: false }, lastSeq, (event) => runIdOf(event) === target.runId && isRunEnding(event));
  if (ending?.type === 'run_cancelled') return { outcome: 'Cancelled', run_id: target.runId };
  if (ending) throw new SessionError('not_running', 'No run is active');
  // No word from the owner: cancel in storage, the same run only. Its lease ends with this commit; it stops at its next write or renewal.
  return onSession(ctx, tenant, id, (host) => {
    refuseOtherRun(host, target.runId);
    return cancelHere(host);
  });
}

/** A cancel aimed at one run must not stop another that started since. */
function refuseOtherRun(host: SessionHost, runId: string | undefined): void {
  if (runId !== undefined && host.runId !== runId) throw new SessionError('not_running', `Run ${runId} is not the active run`);
}

function cancelHere(host: SessionHost): Cancelled {
  const runId = host.runId;
  refuseIfRejected(host.send({ type: 'cancel', at: now() }));
  return { outcome: 'Cancelled', run_id: runId! };
}
