/** zod schemas for every body and query; unknown fields are rejected so typos surface. */
import type { RequestHandler } from 'express';
import { z } from 'zod';
import { SessionError } from '../domain/errors.js';
import { MULTITASK_STRATEGIES, SESSION_STATES } from '../domain/types.js';
import { DELIVERY_STATUSES } from '../domain/webhooks.js';

const METADATA_MAX_BYTES = 16 * 1024;
export const METADATA_MAX_DEPTH = 16;
/** The longest text a client sends: a message, an answer, a system prompt (both APIs). */
export const MAX_TEXT_CHARS = 100_000;

/** Walks without recursion: a body of 200,000 nested arrays must not overflow the stack. */
function depthAtMost(value: unknown, max: number): boolean {
  const stack: [unknown, number][] = [[value, 1]];
  while (stack.length > 0) {
    const [item, depth] = stack.pop()!;
    if (item === null || typeof item !== 'object') continue;
    if (depth > max) return false;
    for (const child of Object.values(item)) stack.push([child, depth + 1]);
  }
  return true;
}
const integer = (name: string) => z.string().regex(/^\d{1,15}$/, `${name} must be a non-negative integer`).transform(Number);
const cursor = z.string().regex(/^\d{1,15}$/, 'not a cursor returned by this API');

/**
 * A JSON object nested no deeper than stored metadata may be: also the shape
 * of a metadata filter, which is walked recursively and so must be bounded
 * before anything reads it.
 */
export const shallowObject = z
  .record(z.string(), z.unknown())
  .refine((value) => depthAtMost(value, METADATA_MAX_DEPTH), { abort: true, message: `must nest at most ${METADATA_MAX_DEPTH} levels deep` });

export const createSessionBody = z.strictObject({
  title: z.string().max(200).nullable().optional(),
  agent: z.string().min(1).max(100).optional(),
  system_prompt: z.string().max(MAX_TEXT_CHARS).nullable().optional(),
  metadata: shallowObject.refine((value) => Buffer.byteLength(JSON.stringify(value)) <= METADATA_MAX_BYTES, 'must be at most 16 KiB as JSON').optional(),
});

export const appendMessageBody = z
  .strictObject({
    content: z.string().min(1).max(MAX_TEXT_CHARS),
    resume: z.boolean().optional(),
    multitask_strategy: z.enum(MULTITASK_STRATEGIES).optional(),
  })
  .refine((body) => body.resume !== false || (body.multitask_strategy ?? 'reject') === 'reject', {
    path: ['resume'],
    message: '`resume: false` stores a message without running it; it goes only with multitask_strategy reject',
  });

export const respondBody = z.strictObject({
  question_id: z.string().min(1).max(200),
  answer: z.string().min(1).max(MAX_TEXT_CHARS),
});

/** `/resume` and `/cancel` take no body, or `{}`. */
export const emptyBody = z.strictObject({});

export const listSessionsQuery = z.strictObject({
  limit: integer('limit').pipe(z.number().min(1).max(200)).optional(),
  cursor: cursor.optional(),
  state: z.enum(SESSION_STATES).optional(),
});

export const listMessagesQuery = z.strictObject({
  limit: integer('limit').pipe(z.number().min(1).max(1000)).optional(),
  after: cursor.optional(),
});

export const eventsQuery = z.strictObject({
  after: integer('after').optional(),
  limit: integer('limit').pipe(z.number().min(1).max(1000)).optional(),
});

export const listDeliveriesQuery = z.strictObject({
  status: z.enum(DELIVERY_STATUSES).optional(),
  limit: integer('limit').pipe(z.number().min(1).max(200)).optional(),
  cursor: cursor.optional(),
});

export const lastEventId = integer('Last-Event-ID');

export const idempotencyKey = z.string().min(1).max(255);

/**
 * Parses or throws `invalid_request` naming the first offending field. An
 * unknown field comes first, with the required one it may stand for
 * (`{"text": …}` for `content`): a typo shows as both.
 */
export function parse<T extends z.ZodType>(schema: T, value: unknown, where: string): z.output<T> {
  const result = schema.safeParse(value);
  if (result.success) return result.data;
  const missing = result.error.issues.find((issue) => issue.code === 'invalid_type' && issue.message.endsWith('received undefined'));
  const issue = result.error.issues.find((found) => found.code === 'unrecognized_keys') ?? result.error.issues[0];
  const name = (at: PropertyKey[], ...more: string[]) => [where, ...at.map(String), ...more].filter(Boolean).join('.');
  if (issue.code === 'unrecognized_keys') {
    const also = missing ? `; ${name(missing.path)} is required` : '';
    throw new SessionError('invalid_request', `${name(issue.path, issue.keys[0]!)}: unknown field${issue.keys.length > 1 ? 's' : ''} ${issue.keys.join(', ')}${also}`);
  }
  const message = issue === missing ? `required, ${issue.message.replace(/^Invalid input: expected (\w+).*$/, 'a $1')}` : issue.message;
  throw new SessionError('invalid_request', `${name(issue.path)}: ${message}`);
}

/**
 * Validates the body before anything else looks at it (idempotency included):
 * a bad request wins over every other answer.
 */
export function validBody<T extends z.ZodType>(schema: T): RequestHandler {
  // What a missing body parses to, found once: resume and cancel are usually sent without one.
  const missing = schema.safeParse({});
  return (req, _res, next) => {
    // Only a missing body counts as `{}`; a JSON `null` is a body, and not an object.
    req.body = req.body === undefined && missing.success ? { ...(missing.data as object) } : parse(schema, req.body === undefined ? {} : req.body, 'body');
    next();
  };
}
