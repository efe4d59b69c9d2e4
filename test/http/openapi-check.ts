/**
 * Holds real responses to the OpenAPI document: each one must be listed for
 * its operation and status, its body must parse with the zod schema the
 * document's schema was generated from, and an error must carry a code the
 * operation lists. Records what it saw, so a test can ask what the document
 * promises that no request has shown yet.
 */
import { expect } from 'vitest';
import type { z } from 'zod';
import { errorEnvelope } from '../../src/http/openapi/bodies.js';
import { errorStatuses, type OpenApiDocument } from '../../src/http/openapi/document.js';
import type { Operation } from '../../src/http/openapi/operation.js';
import { OPERATIONS } from '../../src/http/openapi/operations.js';
import { refTo } from '../../src/http/openapi/schemas.js';
import type { CallOptions, Json, Reply, TestServer } from './helpers.js';
import { rawRequest, type RawReply } from './raw-http.js';

/** Answers a test provokes on some operation, not on each: storage failing, the server failing. */
const SERVER_FAILURES = new Set(['internal', 'unavailable', 'insufficient_storage']);
const SERVER_STATUSES = new Set(['500', '503', '507']);

function pattern(template: string): RegExp {
  const escaped = template.replace(/[.]/g, '\\.').replace(/\{\w+\}/g, '[^/]+');
  return new RegExp(`^${escaped}$`);
}

export function operationFor(method: string, path: string): Operation {
  const bare = path.split('?')[0];
  const op = OPERATIONS.find((candidate) => candidate.method === method.toLowerCase() && pattern(candidate.path).test(bare));
  if (!op) throw new Error(`No documented operation for ${method} ${bare}`);
  return op;
}

/** The problems with a body for a zod schema, readable; empty when it parses. */
export function problems(schema: z.ZodType, body: unknown): string[] {
  const result = schema.safeParse(body);
  return result.success ? [] : result.error.issues.map((issue) => `${issue.path.join('.')}: ${issue.message}`);
}

export class ResponseCheck {
  /** `operationId status media` and `operationId code`, for every response checked. */
  readonly seen = new Set<string>();

  constructor(private readonly document: OpenApiDocument) {}

  async call(server: TestServer, method: string, path: string, options?: CallOptions): Promise<Reply> {
    const reply = await server.call(method, path, options);
    this.check(method, path, reply.status, reply.headers, reply.text, reply.body);
    return reply;
  }

  /** A request `fetch` cannot make (any `Host`), checked the same way. */
  async raw(server: TestServer, method: string, path: string, headers: Record<string, string>): Promise<RawReply> {
    const reply = await rawRequest(server.url, method, path, headers);
    const fields = new Headers();
    for (const [name, value] of Object.entries(reply.headers)) if (value !== undefined) fields.set(name, Array.isArray(value) ? value.join(', ') : value);
    this.check(method, path, reply.status, fields, reply.text, reply.body);
    return reply;
  }

  /** Opens a stream, checks its status and media type, and closes it; or checks the error that refused it. */
  async stream(server: TestServer, path: string, headers: Record<string, string> = {}): Promise<void> {
    const abort = new AbortController();
    const response = await fetch(`${server.url}${path}`, { headers: { Accept: 'text/event-stream', ...headers }, signal: abort.signal });
    if (response.headers.get('content-type')?.startsWith('text/event-stream')) {
      this.check('GET', path, response.status, response.headers, '', null);
      abort.abort();
      return;
    }
    // A refusal before the stream opened: a JSON error.
    const text = await response.text();
    this.check('GET', path, response.status, response.headers, text, JSON.parse(text));
  }

  check(method: string, path: string, status: number, headers: Headers, text: string, body: Json): void {
    const op = operationFor(method, path);
    const where = `${op.operationId} ${status}`;
    const documented = this.document.paths[op.path][op.method].responses as Record<string, Json>;
    expect(documented[status], `${where} is not in the document: ${text.slice(0, 300)}`).toBeDefined();
    const media = (headers.get('content-type') ?? '').split(';')[0];
    const content = documented[status].content as Record<string, { schema: Json }> | undefined;
    if (status === 204 || status === 304) {
      expect(text, where).toBe('');
      expect(content, where).toBeUndefined();
    } else {
      expect(Object.keys(content ?? {}), `${where} answered ${media}`).toContain(media);
    }
    if (media === 'application/json') {
      const schema = op.responses[status]?.json ?? errorEnvelope;
      // The document's schema for this answer is the component generated from the zod schema it is checked with.
      expect(content!['application/json'].schema, where).toEqual(refTo(schema));
      expect(problems(schema, body), `${where}: ${text.slice(0, 300)}`).toEqual([]);
      const code = body?.error?.code;
      if (code !== undefined) {
        expect(errorStatuses(op).get(status) ?? [], `${where} answered error code ${code}`).toContain(code);
        this.seen.add(`${op.operationId} ${code}`);
      }
    }
    this.seen.add(`${op.operationId} ${status} ${media}`.trim());
  }

  /** An answer no operation owns (an unknown route, a method a path does not serve): the plain error envelope. */
  general(reply: Reply, status: number, code: string): void {
    expect(reply.status).toBe(status);
    expect(problems(errorEnvelope, reply.body), reply.text).toEqual([]);
    expect(reply.body.error.code).toBe(code);
  }

  /**
   * What the document promises and no checked response showed: every status
   * and media type of every operation, and every error code it lists. Server
   * failures (500, 503, 507) count once shown on any operation.
   */
  untested(): string[] {
    const missing: string[] = [];
    const seenAnywhere = (suffix: string) => [...this.seen].some((entry) => entry.endsWith(suffix));
    for (const op of OPERATIONS) {
      const responses = this.document.paths[op.path][op.method].responses as Record<string, { content?: Record<string, unknown> }>;
      for (const [status, response] of Object.entries(responses)) {
        for (const media of Object.keys(response.content ?? { '': null })) {
          const key = `${op.operationId} ${status} ${media}`.trim();
          const shown = SERVER_STATUSES.has(status) ? seenAnywhere(` ${status} ${media}`) : this.seen.has(key);
          if (!shown) missing.push(key);
        }
      }
      for (const codes of errorStatuses(op).values()) {
        for (const code of codes) {
          const shown = SERVER_FAILURES.has(code) ? seenAnywhere(` ${code}`) : this.seen.has(`${op.operationId} ${code}`);
          if (!shown) missing.push(`${op.operationId} ${code}`);
        }
      }
    }
    return missing;
  }
}
