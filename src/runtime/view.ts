/** The API's session object, from a host's durable state or a stored row. */
import type { SessionInfo, SessionView } from '../domain/types.js';
import type { SessionRow } from '../storage/store.js';
import type { Durable } from './session-writer.js';
import { decodeSnapshot } from './snapshot.js';

/** The system prompt and the tenant stay server-side. */
export function sessionView(info: SessionInfo, durable: Omit<Durable, 'leaseOwner'>): SessionView {
  const { system_prompt: _systemPrompt, tenant: _tenant, ...visible } = info;
  const { state, context } = durable;
  return {
    ...visible,
    state,
    run_id: context.runId,
    last_run: context.lastRun,
    pending_question: context.pendingQuestion,
    has_pending_work: context.hasPendingWork,
    queued: context.queue,
    message_count: durable.messageCount,
    last_event_seq: durable.lastSeq,
    version: durable.version,
    updated_at: durable.updatedAt,
  };
}

export function viewOfRow(row: SessionRow): SessionView {
  return sessionView(row.info, {
    state: row.state,
    context: decodeSnapshot(row.snapshot).context,
    version: row.version,
    lastSeq: row.last_event_seq,
    messageCount: row.message_count,
    updatedAt: row.updated_at,
  });
}
