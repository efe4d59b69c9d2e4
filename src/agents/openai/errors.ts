/**
 * Turns what the SDK throws into the message of a failed run: short, says
 * what to check, and never carries the API key (nor anything the server
 * echoes back about it).
 */
import {
  APIConnectionError,
  APIConnectionTimeoutError,
  APIError,
  AuthenticationError,
  BadRequestError,
  InternalServerError,
  NotFoundError,
  PermissionDeniedError,
  RateLimitError,
} from 'openai';

/** A failure the agent itself detected; its message is already clear. */
export class RunError extends Error {}

export interface FailureContext {
  model: string;
  baseURL: string;
  apiKey: string;
  maxRetries: number;
  timeout: number;
}

export function describeFailure(error: unknown, context: FailureContext): Error {
  return new Error(redact(message(error, context), context.apiKey));
}

function message(error: unknown, { model, baseURL, maxRetries, timeout }: FailureContext): string {
  const server = displayURL(baseURL);
  const retried = maxRetries > 0 ? ` after ${maxRetries} ${maxRetries === 1 ? 'retry' : 'retries'}` : '';
  // 401 bodies echo part of the key ("Incorrect API key provided: sk-ab***yz"): none of it is repeated.
  if (error instanceof AuthenticationError) return 'The model server rejected the API key (401)';
  if (error instanceof PermissionDeniedError) return `The model server refused access (403)${detail(error)}`;
  if (error instanceof NotFoundError) return `The model server at ${server} answered 404 for model "${model}" (check the model name and the base URL)${detail(error)}`;
  if (error instanceof RateLimitError) return `The model server kept refusing with 429 (rate limit)${retried}${detail(error)}`;
  if (error instanceof InternalServerError) return `The model server failed with ${error.status}${retried}${detail(error)}`;
  if (error instanceof BadRequestError) return `The model server rejected the request (400)${detail(error)}`;
  if (error instanceof APIConnectionTimeoutError) return `The model server at ${server} did not answer within ${timeout} ms${retried}`;
  if (error instanceof APIConnectionError) {
    const code = connectionCode(error);
    const cause = code ? ` (${code})` : '';
    return CONNECT_CODES.has(code)
      ? `Could not connect to the model server at ${server}${cause}${retried}`
      : `The connection to the model server at ${server} failed${cause}${retried}`;
  }
  // An `error` object inside the stream has no status.
  if (error instanceof APIError && error.status === undefined) return `The model server reported an error mid-answer${detail(error)}`;
  if (error instanceof APIError) return `The model server answered ${error.status}${detail(error)}`;
  if (error instanceof SyntaxError) return 'The model server sent a stream chunk that is not JSON';
  if (error instanceof RunError) return error.message;
  const text = error instanceof Error ? error.message || error.name : String(error);
  return `The connection to the model server broke mid-answer: ${text}`;
}

/** The server's own words, when it gave any. */
function detail(error: APIError): string {
  const body = error.error as { message?: unknown } | undefined;
  const text = typeof body?.message === 'string' ? body.message : '';
  return text ? `: ${text}` : '';
}

/** The codes that mean no connection was made at all. */
const CONNECT_CODES = new Set(['ECONNREFUSED', 'ENOTFOUND', 'EAI_AGAIN', 'EHOSTUNREACH', 'ENETUNREACH', 'UND_ERR_CONNECT_TIMEOUT']);

/** `ECONNREFUSED` and the like, from the cause chain of a failed fetch. */
function connectionCode(error: unknown): string {
  let current: unknown = error;
  for (let depth = 0; depth < 5 && current instanceof Error; depth++) {
    const code = (current as { code?: unknown }).code;
    if (typeof code === 'string' && code.length > 0) return code;
    current = current.cause;
  }
  return '';
}

/** Shows the server without credentials or query. */
export function displayURL(url: string): string {
  try {
    const parsed = new URL(url);
    return `${parsed.protocol}//${parsed.host}${parsed.pathname.replace(/\/$/, '')}`;
  } catch {
    return '(invalid base URL)';
  }
}

export function redact(text: string, secret: string): string {
  return secret.length > 0 ? text.replaceAll(secret, '[redacted]') : text;
}
