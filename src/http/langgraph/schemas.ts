/**
 * The bodies and queries the SDK sends. Fields it adds that Bamboo has no use
 * for are accepted and ignored only where ignoring them changes nothing the
 * client can see (tracing, durability hints); a field that asks for behaviour
 * Bamboo lacks is refused with 422 when it is set.
 */
import { z } from 'zod';
import { MULTITASK_STRATEGIES } from '../../domain/types.js';
import { createSessionBody, shallowObject } from '../validation.js';
import { unsupported } from './errors.js';

/** The stream modes Bamboo produces; `custom` is accepted and never has anything to send. */
export const STREAM_MODES = ['values', 'updates', 'messages-tuple', 'tools', 'custom'] as const;
export type StreamMode = (typeof STREAM_MODES)[number];


/** Any mode name is read; the unsupported ones are refused by `streamModes` with a list of what works. */
const modeList = z.union([z.string(), z.array(z.string())]).nullish();

/** The native API's bounds on metadata (size, depth). */
const metadata = createSessionBody.shape.metadata;

/** A filter on metadata: no deeper than metadata itself, so matching it never overflows the stack. */
const metadataFilter = shallowObject.nullish();

export const runBody = z.object({
  assistant_id: z.string().min(1).max(100),
  input: z.unknown().optional(),
  command: z
    .object({ resume: z.unknown().optional(), goto: z.unknown().optional(), update: z.unknown().optional() })
    .nullish(),
  stream_mode: modeList,
  multitask_strategy: z.enum(MULTITASK_STRATEGIES).nullish(),
  on_disconnect: z.enum(['cancel', 'continue']).nullish(),
  checkpoint: z.object({ checkpoint_id: z.string().nullish() }).loose().nullish(),
  checkpoint_id: z.string().nullish(),
  if_not_exists: z.enum(['reject', 'create']).nullish(),
  // Behaviour Bamboo lacks: refused when set.
  interrupt_before: z.unknown().optional(),
  interrupt_after: z.unknown().optional(),
  webhook: z.unknown().optional(),
  after_seconds: z.unknown().optional(),
  feedback_keys: z.unknown().optional(),
  /** Refused when true: a Bamboo agent has no subgraphs whose events could be namespaced. */
  stream_subgraphs: z.boolean().nullish(),
});
export type RunBody = z.output<typeof runBody>;

/** Refuses the fields of a run request that ask for what Bamboo does not do. */
export function refuseUnsupported(body: RunBody): void {
  const set = (value: unknown) => value !== undefined && value !== null && !(Array.isArray(value) && value.length === 0);
  for (const field of ['interrupt_before', 'interrupt_after', 'webhook', 'after_seconds', 'feedback_keys'] as const) {
    if (set(body[field])) throw unsupported(`${field}`);
  }
  if (body.stream_subgraphs === true) throw unsupported('stream_subgraphs (subgraph namespaces)');
  if (body.if_not_exists === 'create') throw unsupported('if_not_exists "create" (threads get their ids from Bamboo)');
  if (body.command && (set(body.command.goto) || set(body.command.update))) throw unsupported('command.goto and command.update');
}

/** The modes asked for, `values` when none (LangGraph's default). */
export function streamModes(value: string | string[] | null | undefined): Set<StreamMode> {
  const asked = value === null || value === undefined ? [] : Array.isArray(value) ? value : [value];
  for (const mode of asked) {
    if (!(STREAM_MODES as readonly string[]).includes(mode)) {
      throw unsupported(`stream_mode "${mode}" (supported: ${STREAM_MODES.join(', ')})`);
    }
  }
  return new Set((asked.length > 0 ? asked : ['values']) as StreamMode[]);
}

export const threadCreateBody = z.object({
  metadata: metadata.nullable(),
  thread_id: z.string().min(1).max(200).nullish(),
  if_exists: z.enum(['raise', 'do_nothing']).nullish(),
  supersteps: z.unknown().optional(),
  ttl: z.unknown().optional(),
});

const page = {
  limit: z.number().int().min(1).max(1000).nullish(),
  offset: z.number().int().min(0).nullish(),
};
const sortOrder = z.enum(['asc', 'desc']).nullish();

export const THREAD_STATUSES = ['idle', 'busy', 'interrupted', 'error'] as const;
export type ThreadStatus = (typeof THREAD_STATUSES)[number];

export const threadSearchBody = z.object({
  metadata: metadataFilter,
  ids: z.array(z.string()).max(1000).nullish(),
  status: z.enum(THREAD_STATUSES).nullish(),
  sort_by: z.enum(['thread_id', 'status', 'created_at', 'updated_at', 'state_updated_at']).nullish(),
  sort_order: sortOrder,
  select: z.array(z.string()).nullish(),
  values: z.unknown().optional(),
  extract: z.unknown().optional(),
  ...page,
});
export type ThreadSearch = z.output<typeof threadSearchBody>;

export const threadCountBody = threadSearchBody.pick({ metadata: true, status: true, values: true });

export const historyBody = z.object({
  limit: z.number().int().min(1).max(1000).nullish(),
  before: z
    .object({ checkpoint_id: z.string().nullish(), configurable: z.object({ checkpoint_id: z.string().nullish() }).loose().nullish() })
    .loose()
    .nullish(),
  metadata: metadataFilter,
  checkpoint: z.unknown().optional(),
  select: z.array(z.string()).nullish(),
});

export const stateAtBody = z.object({
  checkpoint: z.object({ checkpoint_id: z.string().nullish() }).loose(),
  select: z.array(z.string()).nullish(),
});

/** `?select=a&select=b` (or one), as the SDK sends a select in a query; null when none. */
const selectQuery = z
  .union([z.string(), z.array(z.string())])
  .optional()
  .transform((value) => (value === undefined ? null : [value].flat()));

/** `?select=values.messages&select=next`: a state's select. */
export const stateQuery = z.object({ select: selectQuery });

export const assistantSearchBody = z.object({
  graph_id: z.string().nullish(),
  name: z.string().nullish(),
  metadata: metadataFilter,
  sort_by: z.enum(['assistant_id', 'graph_id', 'name', 'created_at', 'updated_at']).nullish(),
  sort_order: sortOrder,
  select: z.array(z.string()).nullish(),
  ...page,
});

export const assistantCountBody = assistantSearchBody.pick({ graph_id: true, name: true, metadata: true });

/** `?wait=1`, `?wait=true`; anything else is false. */
const flag = z
  .string()
  .optional()
  .transform((value) => value === '1' || value === 'true');

export const cancelQuery = z.object({
  wait: flag,
  action: z.enum(['interrupt', 'rollback']).optional(),
  reason: z.string().optional(),
});

const count = (name: string) => z.string().regex(/^\d{1,6}$/, `${name} must be a non-negative integer`).transform(Number);

/** LangGraph's run statuses, as `runs.list` filters on them. */
export const RUN_STATUSES = ['pending', 'running', 'error', 'success', 'timeout', 'interrupted'] as const;

export const runListQuery = z.object({
  limit: count('limit').optional(),
  offset: count('offset').optional(),
  status: z.enum(RUN_STATUSES).optional(),
  select: selectQuery,
});

export const joinStreamQuery = z.object({
  cancel_on_disconnect: flag,
  stream_mode: z.union([z.string(), z.array(z.string())]).optional(),
});

/** Every object in `filter` matched by the same key in `value`, recursively; LangGraph's metadata filter. */
export function contains(value: unknown, filter: unknown): boolean {
  if (filter === null || typeof filter !== 'object' || Array.isArray(filter)) return JSON.stringify(value) === JSON.stringify(filter);
  if (value === null || typeof value !== 'object' || Array.isArray(value)) return false;
  const record = value as Record<string, unknown>;
  return Object.entries(filter).every(([key, wanted]) => key in record && contains(record[key], wanted));
}
