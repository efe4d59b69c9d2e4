/** The shape of one documented operation, and the error codes operations share. */
import type { z } from 'zod';
import type { ErrorCode } from '../../domain/errors.js';

export type Method = 'get' | 'post' | 'delete';

/** Response headers the API sets, described once in the document. */
export type ResponseHeader = 'Location' | 'ETag' | 'Idempotent-Replayed' | 'Cache-Control' | 'Retry-After';

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
  /** Every error code the operation can answer; each lands under its status. */
  errors: ErrorCode[];
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
