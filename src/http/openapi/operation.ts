/** The shape of one documented operation, and the error codes operations share. */
import type { z } from 'zod';
import type { ErrorCode } from '../../domain/errors.js';

export type Method = 'get' | 'post' | 'delete';

/** Response headers the API sets, described once in the document. */
export type ResponseHeader =
  | 'Location'
  | 'ETag'
  | 'Idempotent-Replayed'
  | 'Cache-Control'
  | 'Retry-After'
  | 'WWW-Authenticate'
  | 'RateLimit-Policy'
  | 'RateLimit-Limit'
  | 'RateLimit-Remaining'
  | 'RateLimit-Reset';

/** Request headers some operations read. */
export type RequestHeader = 'Idempotency-Key' | 'Last-Event-ID' | 'If-None-Match';

export interface ResponseSpec {
  description: string;
  /** An `application/json` body, validated by this schema. */
  json?: z.ZodType;
  /** Other media types, as JSON Schema (SVG, Prometheus text, the event stream). */
  media?: Record<string, Record<string, unknown>>;
  headers?: ResponseHeader[];
}

export interface Operation {
  method: Method;
  /** As OpenAPI writes it: `/api/v1/sessions/{id}`. */
  path: string;
  operationId: string;
  tag: string;
  summary: string;
  description?: string;
  /** A query schema from `validation.ts`; each field becomes a parameter. */
  query?: z.ZodObject;
  /** Request headers the operation reads. */
  headers?: RequestHeader[];
  /** A body schema from `validation.ts`. */
  body?: z.ZodObject;
  /** Success responses, and error statuses whose body is not the plain error envelope. */
  responses: Record<number, ResponseSpec>;
  /** Every error code the operation itself can answer; each lands under its status. The front door's are added by `frontDoorErrors`. */
  errors: ErrorCode[];
  /**
   * Who may call it when the server has API keys: `api` (the default) needs a key and counts toward the
   * tenant's rate limit; `key` needs a key only; `open` needs neither.
   */
  access?: 'api' | 'key' | 'open';
}

/** What the front door may answer before the operation runs: an unknown `Host`, a foreign `Origin`, a missing key, the rate limit. */
export function frontDoorErrors(op: Pick<Operation, 'method' | 'access'>): ErrorCode[] {
  const access = op.access ?? 'api';
  return [
    'host_not_allowed',
    ...(op.method === 'get' ? [] : (['origin_not_allowed'] as const)),
    ...(access === 'open' ? [] : (['unauthorized'] as const)),
    ...(access === 'api' ? (['rate_limited'] as const) : []),
  ];
}

/** Any request: an unexpected failure. */
export const FAILS: ErrorCode[] = ['internal'];
/** Requests that reach storage: it may be unreachable, or the server shutting down. */
export const STORED: ErrorCode[] = [...FAILS, 'unavailable'];
/** Requests that write: storage may also be full. */
export const WRITES: ErrorCode[] = [...STORED, 'insufficient_storage'];
/** Requests with a JSON body. */
export const BODY: ErrorCode[] = ['invalid_request', 'payload_too_large', 'unsupported_media_type'];
/** Requests naming a session: the id may be malformed (`invalid_request`) or unknown. */
export const SESSION: ErrorCode[] = ['invalid_request', 'session_not_found'];
