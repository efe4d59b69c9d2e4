/** Reads: a session, the list, the log, the transcript, and the live stream. Nothing here loads an actor. */
import { sessionNotFound } from '../../domain/errors.js';
import type { SessionEvent } from '../../domain/events.js';
import type { Message, SessionState, SessionView } from '../../domain/types.js';
import type { Subscriber } from '../event-bus.js';
import { viewOfRow } from '../view.js';
import { assertOpen, type RuntimeContext } from './context.js';

/** From memory when this process holds the session and nobody else writes it; from storage otherwise. */
export async function getSession(ctx: RuntimeContext, tenant: string, id: string): Promise<SessionView> {
  assertOpen(ctx);
  const host = ctx.store.shared ? undefined : ctx.registry.peek(id);
  if (host) {
    if (host.info.tenant !== tenant) throw sessionNotFound(id);
    return host.view();
  }
  const row = await ctx.store.loadSession(id);
  if (!row || row.info.tenant !== tenant) throw sessionNotFound(id);
  return viewOfRow(row);
}

/** Newest first. */
export async function listSessions(
  ctx: RuntimeContext,
  tenant: string,
  query: { limit: number; cursor?: string; state?: SessionState },
): Promise<{ sessions: SessionView[]; next_cursor: string | null }> {
  assertOpen(ctx);
  const page = await ctx.store.listSessions({ tenant, ...query });
  return { sessions: page.items.map(viewOfRow), next_cursor: page.nextCursor };
}

/**
 * The session's last durable `seq`; throws `session_not_found` for a session `tenant` may not see.
 * `current`: not from a host that another process may have overtaken.
 */
export async function lastSeqOf(ctx: RuntimeContext, tenant: string, id: string, current = false): Promise<number> {
  assertOpen(ctx);
  const peeked = ctx.registry.peek(id);
  const host = current && ctx.store.shared && !peeked?.hasLiveRun ? undefined : peeked;
  if (host) {
    if (host.info.tenant !== tenant) throw sessionNotFound(id);
    return host.durable.lastSeq;
  }
  const row = await ctx.store.loadSession(id);
  if (!row || row.info.tenant !== tenant) throw sessionNotFound(id);
  return row.last_event_seq;
}

/** A page of the log after `after`: at most `limit` events, and within `maxBytes` past the first. */
export async function readEvents(
  ctx: RuntimeContext,
  tenant: string,
  id: string,
  after: number,
  limit: number,
  maxBytes?: number,
): Promise<{ events: SessionEvent[]; next_after: number }> {
  await lastSeqOf(ctx, tenant, id);
  const events = await ctx.store.readEvents(id, after, limit, maxBytes);
  return { events, next_after: events.at(-1)?.seq ?? after };
}

export async function readMessages(
  ctx: RuntimeContext,
  tenant: string,
  id: string,
  query: { limit: number; cursor?: string; maxBytes?: number },
): Promise<{ messages: Message[]; next_cursor: string | null }> {
  await lastSeqOf(ctx, tenant, id);
  const page = await ctx.store.readMessages(id, query);
  return { messages: page.items, next_cursor: page.nextCursor };
}

/** The latest messages, read from the newest back: a long transcript is not read whole. */
export async function readRecentMessages(ctx: RuntimeContext, tenant: string, id: string, limit: number, maxBytes?: number): Promise<Message[]> {
  await lastSeqOf(ctx, tenant, id);
  return ctx.store.readRecentMessages(id, limit, maxBytes);
}

/**
 * Live, durable events of one session, in order. Subscribe before reading the
 * log, so nothing falls between; events up to `lastSeq` are the log's to give.
 */
export async function subscribe(ctx: RuntimeContext, tenant: string, id: string, subscriber: Subscriber): Promise<{ unsubscribe: () => void; lastSeq: number }> {
  // Where delivery starts: an outdated host here would replay to a live-only stream what it never saw.
  const lastSeq = await lastSeqOf(ctx, tenant, id, true);
  const unsubscribe = ctx.bus.subscribe(id, lastSeq, subscriber);
  try {
    // Deleted before the subscription: its `session_deleted` went to nobody.
    await lastSeqOf(ctx, tenant, id);
  } catch (error) {
    unsubscribe();
    throw error;
  }
  // Another process may have committed between the read of `lastSeq` and the subscription.
  if (ctx.store.shared) ctx.bus.refresh(id);
  return { unsubscribe, lastSeq };
}
