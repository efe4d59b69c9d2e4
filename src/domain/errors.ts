/** Every error a client can see, by its stable `code`. The HTTP layer maps codes to statuses. */
export type ErrorCode =
  | 'invalid_request'
  | 'request_timeout'
  | 'headers_too_large'
  | 'payload_too_large'
  | 'unsupported_media_type'
  | 'not_found'
  | 'method_not_allowed'
  | 'session_not_found'
  | 'session_busy'
  | 'question_pending'
  | 'no_pending_question'
  | 'question_mismatch'
  | 'invalid_answer'
  | 'not_running'
  | 'queue_full'
  | 'queued_message_not_found'
  | 'delivery_not_found'
  | 'delivery_not_failed'
  | 'webhooks_disabled'
  | 'idempotency_conflict'
  | 'unauthorized'
  | 'host_not_allowed'
  | 'origin_not_allowed'
  | 'rate_limited'
  | 'too_many_runs'
  | 'too_many_streams'
  | 'quota_exceeded'
  | 'unavailable'
  | 'insufficient_storage'
  | 'internal';

/** The codes with which a session refuses a command in its current state. */
export type RejectionCode = Extract<
  ErrorCode,
  'session_busy' | 'question_pending' | 'no_pending_question' | 'question_mismatch' | 'invalid_answer' | 'not_running' | 'queue_full' | 'queued_message_not_found'
>;

/** A failure meant for the client: a code, a readable message, and optional extra fields. */
export class SessionError extends Error {
  constructor(
    readonly code: ErrorCode,
    message: string,
    readonly details: Record<string, unknown> = {},
  ) {
    super(message);
    this.name = 'SessionError';
  }
}

export function sessionNotFound(id: string): SessionError {
  return new SessionError('session_not_found', `No session with id ${id}`);
}

/** A command named an agent the session does not have (and can no longer take). */
export function otherAgent(id: string, has: string, wanted: string): SessionError {
  return new SessionError('invalid_request', `Session ${id} belongs to agent ${has}, not ${wanted}`);
}
