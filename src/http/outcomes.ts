/**
 * One mapping from a command's outcome to its HTTP status and body, shared by
 * every route (and by the responses kept for Idempotency-Key replays).
 */
import { sessionNotFound } from '../domain/errors.js';
import type { AppendOutcome, Outcome, RespondOutcome } from '../domain/outcomes.js';
import type { Message } from '../domain/types.js';
import { errorBody } from './errors.js';

export interface Presented {
  status: number;
  body: Record<string, unknown>;
}

/** The session's stream from just before a run, so a client that opens it misses nothing. */
export function eventsUrl(baseUrl: string, sessionId: string, after: number): string {
  return `${baseUrl}/sessions/${sessionId}/events?after=${after}`;
}

/** `baseUrl`: where the API is mounted, for `events_url`. */
export function presentOutcome(result: Outcome | RespondOutcome, sessionId: string, baseUrl: string): Presented {
  const replayed = 'replayed' in result && result.replayed ? { replayed: true } : {};
  switch (result.outcome) {
    case 'NotFound':
      return { status: 404, body: { outcome: 'NotFound', ...errorBody(sessionNotFound(sessionId)) } };
    case 'Completed':
      return { status: 200, body: { ...replayed, outcome: 'Completed' } };
    case 'AlreadyRunning':
    case 'Cancelled':
      return { status: 200, body: { ...replayed, outcome: result.outcome, run_id: result.run_id } };
    case 'Started':
      return { status: 202, body: { outcome: 'Started', run_id: result.run_id, events_url: eventsUrl(baseUrl, sessionId, result.events_after) } };
    case 'Queued':
      return { status: 202, body: { outcome: 'Queued', position: result.position } };
  }
}

/** A new user message: 202 with its run, or 201 when it was only stored (`resume: false`). */
export function presentAppend(result: AppendOutcome<Message>, sessionId: string, baseUrl: string): Presented {
  if (result.outcome === null) return { status: 201, body: { message: result.message, outcome: null } };
  if (result.outcome === 'Queued') return { status: 202, body: { message: result.message, outcome: 'Queued', position: result.position } };
  const { status, body } = presentOutcome(result, sessionId, baseUrl);
  return { status, body: { message: result.message, ...body } };
}
