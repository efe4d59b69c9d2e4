import { SessionError } from '../../domain/errors.js';
import { newSessionId, now } from '../../domain/ids.js';
import type { SessionView } from '../../domain/types.js';
import type { IdempotencyRecord } from '../../storage/store.js';
import { assertOpen, type RuntimeContext } from './context.js';

export interface NewSession {
  title?: string | null;
  agent?: string;
  system_prompt?: string | null;
  metadata?: Record<string, unknown>;
}

/** Stores a new session, idle, owned by `tenant`. `acknowledge` renders the response kept for its Idempotency-Key. */
export async function createSession(
  ctx: RuntimeContext,
  tenant: string,
  input: NewSession,
  acknowledge?: (session: SessionView) => IdempotencyRecord,
): Promise<SessionView> {
  assertOpen(ctx);
  const agent = input.agent ?? ctx.defaultAgent;
  if (!ctx.agents.has(agent)) {
    throw new SessionError('invalid_request', `agent: unknown agent "${agent}" (available: ${[...ctx.agents.keys()].join(', ')})`);
  }
  await ctx.quotas.checkNewSession(tenant);
  const info = {
    id: newSessionId(),
    tenant,
    title: input.title ?? null,
    agent,
    system_prompt: input.system_prompt ?? null,
    metadata: input.metadata ?? {},
    created_at: now(),
  };
  const host = await ctx.registry.create(info, acknowledge);
  return host.view();
}
