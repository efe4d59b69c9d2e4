import type { SessionContext } from '../../machines/session.machine.js';
import type { SessionInfo, SessionState, SessionView } from '../domain/types.js';

export interface ViewCounters {
  version: number;
  last_event_seq: number;
  message_count: number;
  updated_at: string;
}

/** The API's session object; the system prompt stays server-side. */
export function sessionView(info: SessionInfo, state: SessionState, context: SessionContext, counters: ViewCounters): SessionView {
  const { system_prompt: _systemPrompt, ...visible } = info;
  return {
    ...visible,
    state,
    run_id: context.runId,
    last_run: context.lastRun,
    pending_question: context.pendingQuestion,
    has_pending_work: context.hasPendingWork,
    message_count: counters.message_count,
    last_event_seq: counters.last_event_seq,
    version: counters.version,
    updated_at: counters.updated_at,
  };
}
