/**
 * The JSON error envelope. Every failure a client sees goes through here;
 * unexpected errors are logged and answered as `internal` without detail.
 */
import type { ErrorRequestHandler, RequestHandler, Response } from 'express';
import type { ErrorCode } from '../domain/errors.js';
import { SessionError } from '../domain/errors.js';
import { StorageUnavailable } from '../storage/store.js';

const STATUS: Record<ErrorCode, number> = {
  invalid_request: 400,
  invalid_answer: 400,
  request_timeout: 408,
  headers_too_large: 431,
  unauthorized: 401,
  origin_not_allowed: 403,
  host_not_allowed: 421,
  rate_limited: 429,
  too_many_runs: 429,
  too_many_streams: 429,
  quota_exceeded: 429,
  not_found: 404,
  session_not_found: 404,
  method_not_allowed: 405,
  session_busy: 409,
  question_pending: 409,
  no_pending_question: 409,
  question_mismatch: 409,
  not_running: 409,
  queue_full: 409,
  queued_message_not_found: 404,
  delivery_not_found: 404,
  delivery_not_failed: 409,
  webhooks_disabled: 409,
  idempotency_conflict: 409,
  payload_too_large: 413,
  unsupported_media_type: 415,
  internal: 500,
  unavailable: 503,
  insufficient_storage: 507,
};

export function statusOf(code: ErrorCode): number {
  return STATUS[code];
}

export function errorBody(error: SessionError): { error: Record<string, unknown> } {
  return { error: { code: error.code, message: error.message, ...error.details } };
}

export function sendError(res: Response, error: SessionError, extra: Record<string, unknown> = {}): void {
  res.status(statusOf(error.code)).json({ ...extra, ...errorBody(error) });
}

export const routeNotFound: RequestHandler = (req, _res, next) => {
  next(new SessionError('not_found', `No route for ${req.method} ${req.path}`));
};

export function methodNotAllowed(allowed: string[]): RequestHandler {
  return (req, res, next) => {
    res.setHeader('Allow', allowed.join(', '));
    next(new SessionError('method_not_allowed', `${req.method} is not allowed here; use ${allowed.join(' or ')}`));
  };
}

/**
 * Client errors raised by Express and body-parser carry a 4xx `status` (and
 * body-parser's a `type`): malformed JSON, a body over the limit or in another
 * encoding, an id that is not valid percent-encoding, a body that does not inflate.
 */
function fromClientError(error: { type?: unknown; status?: unknown; limit?: unknown }): SessionError | null {
  if (error.type === 'entity.parse.failed') return new SessionError('invalid_request', 'body: malformed JSON');
  // body-parser marks this one 500, but it is still about the request's body.
  const status = error.type === 'stream.encoding.set' ? 400 : error.status;
  if (typeof status !== 'number' || status < 400 || status > 499) return null;
  if (status === 413) {
    const limit = typeof error.limit === 'number' ? `${error.limit} bytes` : 'the limit';
    return new SessionError('payload_too_large', `body: larger than ${limit}`);
  }
  if (status === 415) return new SessionError('unsupported_media_type', 'body: only UTF-8 JSON is accepted');
  return new SessionError('invalid_request', clientErrorMessage(error));
}

/** What a 4xx of Express or body-parser other than the above was about: the path, the body, or (http-errors' own words) the request. */
export function clientErrorMessage(error: { type?: unknown; message?: unknown; expose?: unknown }): string {
  if (error instanceof URIError) return 'path: not valid percent-encoding';
  if (typeof error.type === 'string') return 'body: the request body could not be read';
  return error.expose === true && typeof error.message === 'string' ? `request: ${error.message}` : 'request: not understood';
}

/** Storage that cannot do its part now: 503 (retry after a while) or 507 (no space left). */
function fromStorage(error: StorageUnavailable): SessionError {
  return error.reason === 'full'
    ? new SessionError('insufficient_storage', 'Storage is full; nothing was written. Retry once space is freed.')
    : new SessionError('unavailable', `${storageTrouble(error)}; ${writtenOrNot(error)}`);
}

/** What a client may assume of its change, and what to do. */
export function writtenOrNot(error: StorageUnavailable): string {
  return error.maybeWritten
    ? 'the change may or may not have been written: read it back, or retry with the same Idempotency-Key'
    : 'nothing was written. Retry shortly.';
}

/** What is wrong with storage, in a few words for a client. */
export function storageTrouble(error: StorageUnavailable): string {
  return error.reason === 'full' ? 'Storage is full' : error.reason === 'busy' ? 'Storage is busy' : 'Storage is unreachable';
}

/** Seconds to wait, for errors that pass with time: storage trouble, and the limits on runs and streams in progress (freed as they end). */
export function retryAfterOf(error: unknown): string | null {
  if (error instanceof StorageUnavailable) return '5';
  if (error instanceof SessionError && (error.code === 'too_many_runs' || error.code === 'too_many_streams')) return '5';
  return null;
}

export const errorHandler: ErrorRequestHandler = (error: unknown, req, res, _next) => {
  const retryAfter = retryAfterOf(error);
  if (retryAfter && !res.headersSent) res.setHeader('Retry-After', retryAfter);
  const known =
    error instanceof SessionError
      ? error
      : error instanceof StorageUnavailable
        ? fromStorage(error)
        : typeof error === 'object' && error !== null
          ? fromClientError(error)
          : null;
  if (!known) req.log?.error({ err: error }, 'request failed');
  const reply = known ?? new SessionError('internal', 'Internal server error');
  if (res.headersSent) {
    // Part of a body has gone (a page, a stream): cut the connection, so the client sees it broken, never a short 200.
    res.destroy();
    return;
  }
  sendError(res, reply);
};
