/**
 * The OpenAPI 3.1 document, built from the operation list and the zod
 * schemas: the same schemas the server validates requests with, and the
 * response schemas the tests hold real responses to.
 */
import type { z } from 'zod';
import type { ErrorCode } from '../../domain/errors.js';
import { statusOf } from '../errors.js';
import { ERROR_CODES, errorEnvelope } from './bodies.js';
import { frontDoorErrors, type Operation, type RequestHeader, type ResponseHeader, type ResponseSpec } from './operation.js';
import { OPERATIONS } from './operations.js';
import { idempotencyKey, lastEventId } from './requests.js';
import { componentSchemas, inputSchema, type JsonSchema, numericRange, refTo } from './schemas.js';
import { requestSchemas } from './registry.js';

export type OpenApiDocument = {
  openapi: '3.1.0';
  info: { title: string; version: string; description: string };
  tags: { name: string; description: string }[];
  paths: Record<string, Record<string, JsonSchema>>;
  components: { schemas: Record<string, JsonSchema>; headers: Record<string, JsonSchema>; securitySchemes: Record<string, JsonSchema> };
  security: Record<string, string[]>[];
};

const DESCRIPTION = [
  'Runs AI-agent sessions. The guide, with examples, is `docs/API.md` in the repository.',
  'Request and response bodies are JSON (`application/json`, UTF-8); unknown request fields are refused.',
  'Every error is `{ "error": { "code", "message" } }` (`Error`). Besides the errors each operation lists, any path answers 404 `not_found` for a route that does not exist and 405 `method_not_allowed` (with `Allow`) for a method it does not serve.',
  'API keys: once the server has at least one, every operation except the open ones (`security: []`) needs one, as `Authorization: Bearer KEY` or `x-api-key: KEY`; a missing or unknown key answers 401 `unauthorized` with `WWW-Authenticate: Bearer`. A server without keys needs none. Each key belongs to a tenant, and a tenant sees only its own sessions.',
].join('\n\n');

const TAGS = [
  { name: 'Sessions', description: 'Create, list, read and delete sessions.' },
  { name: 'Messages', description: 'The transcript and new user turns.' },
  { name: 'Runs', description: 'Resume, answer the agent’s question, cancel.' },
  { name: 'Events', description: 'The session log, live (Server-Sent Events) or paged.' },
  { name: 'Statechart', description: 'The session statechart, generated from the machine the server runs.' },
  { name: 'Service', description: 'Health, readiness, metrics and this document.' },
];

const HEADERS = {
  Location: { description: 'The new session’s URL.', schema: { type: 'string' } },
  ETag: { description: 'The session’s `version`, quoted.', schema: { type: 'string' } },
  'Idempotent-Replayed': { description: '`true` when this is the stored response to an earlier request with the same `Idempotency-Key`.', schema: { const: 'true' } },
  'Cache-Control': { description: 'How long the picture may be reused.', schema: { type: 'string' } },
  'Retry-After': { description: 'Seconds to wait before trying again.', schema: { type: 'string' } },
  'WWW-Authenticate': { description: '`Bearer realm="bamboo"`: send a key.', schema: { type: 'string' } },
  'RateLimit-Policy': { description: 'The tenant’s limit and window, as in the IETF draft: `6000;w=60`.', schema: { type: 'string' } },
  'RateLimit-Limit': { description: 'Requests allowed in the window.', schema: { type: 'string' } },
  'RateLimit-Remaining': { description: 'Requests left in the window.', schema: { type: 'string' } },
  'RateLimit-Reset': { description: 'Seconds until the window resets.', schema: { type: 'string' } },
} satisfies Record<ResponseHeader, JsonSchema>;

/** Headers on the error answers that carry them. */
const ERROR_HEADERS: Partial<Record<number, ResponseHeader[]>> = {
  401: ['WWW-Authenticate'],
  429: ['Retry-After', 'RateLimit-Policy', 'RateLimit-Limit', 'RateLimit-Remaining', 'RateLimit-Reset'],
  503: ['Retry-After'],
  507: ['Retry-After'],
};

/** A key, sent either way. */
const SECURITY_SCHEMES = {
  bearer: { type: 'http', scheme: 'bearer', description: '`Authorization: Bearer KEY`.' },
  apiKey: { type: 'apiKey', in: 'header', name: 'x-api-key', description: '`x-api-key: KEY`, the same key.' },
};

/** The first two are validated with zod; `If-None-Match` is compared as is. */
const REQUEST_HEADERS: Record<RequestHeader, () => JsonSchema> = {
  'Idempotency-Key': () => inputSchema(idempotencyKey),
  'Last-Event-ID': () => inputSchema(lastEventId),
  'If-None-Match': () => ({ type: 'string', description: 'The `ETag` of an earlier read: 304 without a body while the session is unchanged.' }),
};

/** A parameter's description lives on the parameter, not in its schema. */
function parameter(name: string, location: 'query' | 'header' | 'path', required: boolean, { description, ...schema }: JsonSchema, range?: [number, number] | null): JsonSchema {
  const text = [description, range && `From ${range[0]} to ${range[1]}.`].filter(Boolean).join(' ');
  return { name, in: location, required, ...(text ? { description: text } : {}), schema };
}

function parameters(op: Operation): JsonSchema[] {
  const path = [...op.path.matchAll(/\{(\w+)\}/g)].map(([, name]) => parameter(name, 'path', true, { type: 'string', description: 'The session id, `ses_…`.' }));
  const query = op.query
    ? Object.entries((inputSchema(op.query).properties ?? {}) as Record<string, JsonSchema>).map(([name, schema]) =>
        parameter(name, 'query', false, schema, numericRange(op.query!.shape[name])),
      )
    : [];
  const headers = (op.headers ?? []).map((name) => parameter(name, 'header', false, REQUEST_HEADERS[name]()));
  return [...path, ...query, ...headers];
}

function response(spec: ResponseSpec): JsonSchema {
  const content: Record<string, JsonSchema> = {};
  if (spec.json) content['application/json'] = { schema: refTo(spec.json) };
  for (const [type, schema] of Object.entries(spec.media ?? {})) content[type] = { schema };
  const headers = spec.headers && Object.fromEntries(spec.headers.map((name) => [name, { $ref: `#/components/headers/${name}` }]));
  return { description: spec.description, ...(Object.keys(content).length > 0 ? { content } : {}), ...(headers ? { headers } : {}) };
}

/** The error codes of an operation, grouped by the status each is answered with, in reference order. */
export function errorStatuses(op: Operation): Map<number, ErrorCode[]> {
  const byStatus = new Map<number, ErrorCode[]>();
  const errors = [...frontDoorErrors(op), ...op.errors];
  for (const code of ERROR_CODES.filter((code) => errors.includes(code))) byStatus.set(statusOf(code), [...(byStatus.get(statusOf(code)) ?? []), code]);
  return new Map([...byStatus].sort(([a], [b]) => a - b));
}

function responses(op: Operation): Record<string, JsonSchema> {
  const out: Record<string, JsonSchema> = {};
  for (const [status, spec] of Object.entries(op.responses)) out[status] = response(spec);
  for (const [status, codes] of errorStatuses(op)) {
    const list = `Error code: ${codes.map((code) => `\`${code}\``).join(', ')}.`;
    const own = op.responses[status];
    out[status] = own
      ? { ...out[status], description: `${own.description} ${list}` }
      : response({ description: list, json: errorEnvelope, headers: ERROR_HEADERS[status] });
  }
  return Object.fromEntries(Object.entries(out).sort(([a], [b]) => Number(a) - Number(b)));
}

/** A missing body counts as `{}`, so a body is required only when some field is. */
function requestBody(schema: z.ZodObject): JsonSchema {
  const required = ((inputSchema(schema).required as string[] | undefined) ?? []).length > 0;
  return { required, content: { 'application/json': { schema: refTo(schema, requestSchemas) } } };
}

function operation(op: Operation): JsonSchema {
  const params = parameters(op);
  return {
    operationId: op.operationId,
    tags: [op.tag],
    summary: op.summary,
    ...(op.description ? { description: op.description } : {}),
    ...(params.length ? { parameters: params } : {}),
    ...(op.body ? { requestBody: requestBody(op.body) } : {}),
    responses: responses(op),
    ...(op.access === 'open' ? { security: [] } : {}),
  };
}

export function buildDocument(version: string): OpenApiDocument {
  const paths: OpenApiDocument['paths'] = {};
  for (const op of OPERATIONS) (paths[op.path] ??= {})[op.method] = operation(op);
  return {
    openapi: '3.1.0',
    info: { title: 'Bamboo Server API', version, description: DESCRIPTION },
    tags: TAGS,
    paths,
    components: { schemas: componentSchemas(), headers: HEADERS, securitySchemes: SECURITY_SCHEMES },
    // Either scheme; open operations say `security: []`.
    security: [{ bearer: [] }, { apiKey: [] }],
  };
}
