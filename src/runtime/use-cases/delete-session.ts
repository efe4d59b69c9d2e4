import { sessionNotFound } from '../../domain/errors.js';
import { numbered } from '../../domain/events.js';
import { now } from '../../domain/ids.js';
import { assertOpen, hostFor, type RuntimeContext, type Tenant } from './context.js';

/** Cancels a run executing here, then removes the session, its messages and its events; open streams get `session_deleted`. */
export async function deleteSession(ctx: RuntimeContext, tenant: Tenant, id: string): Promise<void> {
  assertOpen(ctx);
  const host = await hostFor(ctx, tenant, id);
  if (!host) throw sessionNotFound(id);
  if (host.hasLiveRun) host.send({ type: 'cancel', at: now() });
  ctx.registry.retire(host);
  try {
    await host.settled().catch(() => undefined);
    if (!(await ctx.store.deleteSession(id))) throw sessionNotFound(id);
    ctx.index.trigger.moved({ from: host.durable.state });
    ctx.bus.close(id, numbered({ type: 'session_deleted', at: now() }, host.lastSeq + 1, id));
    // A run of this session in another process stops when its owner hears of this, or at its next write.
    await ctx.feed?.announceDeleted(id).catch((err: unknown) => ctx.logger.warn({ err, session_id: id }, 'could not announce a deletion'));
  } finally {
    ctx.registry.forget(id);
  }
}

/** Another process deleted the session: drop it here, ending its run and its streams. */
export function forgetDeleted(ctx: RuntimeContext, id: string): void {
  const host = ctx.registry.peek(id);
  if (host) ctx.registry.evict(host);
  // Numbered after what its streams were sent: this process may hold no host of the session, and a stream drops a seq it already had.
  const lastSeq = Math.max(host?.lastSeq ?? 0, ctx.bus.lastDelivered(id) ?? 0);
  ctx.bus.close(id, numbered({ type: 'session_deleted', at: now() }, lastSeq + 1, id));
}
