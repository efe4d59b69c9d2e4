/**
 * Errors as LangGraph's server answers them: a status and `{ "detail": … }`.
 * The SDK turns any non-2xx answer into an error carrying that status and
 * body; it retries 5xx answers to idempotent methods, so what Bamboo does not
 * support is a 4xx (404, 405 or 422), never a 5xx.
 */
import type { ErrorRequestHandler, RequestHandler } from 'express';
import { SessionError } from '../../domain/errors.js';
import { StorageUnavailable } from '../../storage/store.js';
import { clientErrorMessage, retryAfterOf, statusOf, storageTrouble, writtenOrNot } from '../errors.js';

export class LangGraphError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
    this.name = 'LangGraphError';
  }
}

export const DOCS = 'see docs/langgraph.md';

/** A valid request for something Bamboo does not do. */
export function unsupported(what: string): LangGraphError {
  return new LangGraphError(422, `${what} is not supported by Bamboo (${DOCS})`);
}

export function threadNotFound(id: string): LangGraphError {
  return new LangGraphError(404, `Thread ${id} not found`);
}

export function runNotFound(id: string): LangGraphError {
  return new LangGraphError(404, `Run ${id} not found`);
}

/** An endpoint of LangGraph's API that Bamboo leaves out. */
export function notProvided(what: string): RequestHandler {
  return (_req, _res, next) => next(new LangGraphError(404, `${what} is not supported by Bamboo (${DOCS})`));
}

/** A method LangGraph allows on a path where Bamboo allows fewer. */
export function otherMethods(allowed: string[], what: string): RequestHandler {
  return (req, res, next) => {
    res.setHeader('Allow', allowed.join(', '));
    next(new LangGraphError(405, `${req.method} ${what} is not supported by Bamboo (${DOCS})`));
  };
}

/** Bamboo's status for a code, as LangGraph's clients expect it: LangGraph answers what is malformed or invalid with 422, not 400. */
function statusHere(code: SessionError['code']): number {
  const status = statusOf(code);
  return status === 400 ? 422 : status;
}

/** The detail LangGraph's clients read, in LangGraph's words where they differ from ours. */
function detailOf(error: SessionError): string {
  if (error.code === 'session_not_found') return 'Thread not found';
  if (error.code === 'session_busy') return 'Thread is already running a task. Wait for it to finish or choose a different multitask strategy.';
  return error.message;
}

export const langGraphErrors: ErrorRequestHandler = (error: unknown, req, res, _next) => {
  let status: number;
  let body: Record<string, unknown>;
  if (error instanceof LangGraphError) {
    status = error.status;
    body = { detail: error.message };
  } else if (error instanceof SessionError) {
    status = statusHere(error.code);
    body = { detail: detailOf(error), code: error.code };
  } else if (error instanceof StorageUnavailable) {
    status = error.reason === 'full' ? 507 : 503;
    body = { detail: error.reason === 'full' ? `${storageTrouble(error)}; nothing was written` : `${storageTrouble(error)}; ${writtenOrNot(error)}` };
  } else if (isClientError(error)) {
    status = error.type === 'entity.parse.failed' ? 422 : error.status;
    body = { detail: error.type === 'entity.parse.failed' ? 'body: malformed JSON' : clientErrorMessage(error) };
  } else {
    req.log?.error({ err: error }, 'LangGraph request failed');
    status = 500;
    body = { detail: 'Internal server error' };
  }
  const retryAfter = retryAfterOf(error);
  if (retryAfter && !res.headersSent) res.setHeader('Retry-After', retryAfter);
  if (res.headersSent) {
    // A stream already under way: cut, so the client sees it broken (and reconnects) rather than a clean end.
    res.destroy();
    return;
  }
  res.status(status).json(body);
};

/** body-parser's and Express's own 4xx errors. */
function isClientError(error: unknown): error is { status: number; type?: string; message?: string; expose?: boolean } {
  if (typeof error !== 'object' || error === null) return false;
  const status = (error as { status?: unknown }).status;
  return typeof status === 'number' && status >= 400 && status < 500;
}
