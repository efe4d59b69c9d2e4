/**
 * Threads are sessions: `thread_id` is the session id, the status comes from
 * the session's state, the values are its transcript. A thread is bound to
 * one assistant, its session's agent: `metadata.graph_id` at creation, or the
 * server's default agent, until its first run, which may name another.
 */
import type { Request, Router } from 'express';
import { SessionError } from '../../domain/errors.js';
import type { Message, SessionView } from '../../domain/types.js';
import type { SessionRuntime, TenantSessions } from '../../runtime/runtime.js';
import { sessionsFor } from '../routes/deps.js';
import { parse } from '../validation.js';
import { LangGraphError, notProvided, otherMethods, threadNotFound, unsupported } from './errors.js';
import { historyPoints, readHistory, readLatest, readTranscript, turnBefore } from './log.js';
import { contains, historyBody, stateAtBody, stateQuery, threadCountBody, threadCreateBody, type ThreadSearch, threadSearchBody } from './schemas.js';
import {
  emptyStateView,
  latestValues,
  pendingNow,
  selectFields,
  selectState,
  type StatePoint,
  stateView,
  threadMetadata,
  threadStatus,
  threadValues,
  threadView,
  VALUES_BYTES,
} from './views.js';

/** The session behind a thread, or LangGraph's 404. */
export async function loadThread(sessions: TenantSessions, id: string): Promise<SessionView> {
  try {
    return await sessions.getSession(id);
  } catch (error) {
    if (error instanceof SessionError && error.code === 'session_not_found') throw threadNotFound(id);
    throw error;
  }
}

export function threadRoutes(router: Router, runtime: SessionRuntime): void {
  const sessions = (req: Request) => sessionsFor(runtime, req);

  router
    .route('/threads')
    .post(async (req, res) => {
      const body = parse(threadCreateBody, req.body ?? {}, 'body');
      if (body.supersteps !== undefined && body.supersteps !== null) throw unsupported('supersteps');
      if (body.ttl !== undefined && body.ttl !== null) throw unsupported('ttl');
      if (body.thread_id) return res.json(await existing(sessions(req), body.thread_id, body.if_exists ?? 'raise'));
      const { graph_id: graphId, assistant_id: _assistantId, ...metadata } = body.metadata ?? {};
      if (graphId !== undefined && (typeof graphId !== 'string' || !runtime.agentNames.includes(graphId))) {
        throw new LangGraphError(422, `metadata.graph_id: no assistant ${JSON.stringify(graphId)} (available: ${runtime.agentNames.join(', ')})`);
      }
      const session = await sessions(req).createSession({ agent: graphId, metadata });
      res.json(threadView(session, { messages: [] }));
    })
    .all(otherMethods(['POST'], 'on /threads'));

  router.post('/threads/search', async (req, res) => {
    const query = parse(threadSearchBody, req.body ?? {}, 'body');
    const found = await search(sessions(req), query, true);
    const withValues = !query.select || query.select.includes('values');
    const threads = withValues ? await withSharedValues(sessions(req), found) : found.map((session) => threadView(session, undefined));
    res.json(query.select ? threads.map((thread) => selectFields(thread, query.select!)) : threads);
  });
  router.post('/threads/count', async (req, res) => {
    const query = parse(threadCountBody, req.body ?? {}, 'body');
    res.json((await search(sessions(req), query, false)).length);
  });
  router.all(['/threads/prune', '/threads/:id/copy'], notProvided('Copying and pruning threads'));
  router.all('/threads/:id/stream', notProvided('The thread-wide stream (join a run with runs.joinStream)'));

  router
    .route('/threads/:id')
    .get(async (req, res) => {
      const session = await loadThread(sessions(req), req.params.id);
      res.json(threadView(session, threadValues(await readLatest(sessions(req), session.id))));
    })
    .delete(async (req, res) => {
      await loadThread(sessions(req), req.params.id);
      await sessions(req).deleteSession(req.params.id);
      res.status(204).end();
    })
    .all(otherMethods(['GET', 'DELETE'], 'on a thread (its metadata is fixed at creation)'));

  router
    .route('/threads/:id/state')
    .get(async (req, res) => {
      const { select } = parse(stateQuery, req.query, 'query');
      const session = await loadThread(sessions(req), req.params.id);
      const messages = await readLatest(sessions(req), session.id);
      const pending = pendingNow(session);
      if (messages.length === 0 && !pending) return res.json(selectState(emptyStateView(session), select));
      const parentSeq = await turnBefore(sessions(req), session.id, session.last_event_seq);
      const point: StatePoint = { seq: session.last_event_seq, at: session.updated_at, messages, pending, runId: session.run_id ?? session.last_run?.id ?? null, parentSeq };
      res.json(selectState(stateView(session, point), select));
    })
    .all(otherMethods(['GET'], 'on a thread\'s state (the state changes only through runs)'));

  const stateAt = async (req: Request, checkpointId: string | null | undefined, select: readonly string[] | null) => {
    const session = await loadThread(sessions(req), String(req.params.id));
    const point = (await history(sessions(req), session)).find((candidate) => String(candidate.seq) === checkpointId);
    if (!point) throw new LangGraphError(404, `Checkpoint ${String(checkpointId)} not found`);
    return selectState(stateView(session, point), select);
  };
  router.get('/threads/:id/state/:checkpoint', async (req, res) => {
    res.json(await stateAt(req, req.params.checkpoint, parse(stateQuery, req.query, 'query').select));
  });
  router.post('/threads/:id/state/checkpoint', async (req, res) => {
    const body = parse(stateAtBody, req.body ?? {}, 'body');
    res.json(await stateAt(req, body.checkpoint.checkpoint_id, body.select ?? null));
  });

  router.post('/threads/:id/history', async (req, res) => {
    const query = parse(historyBody, req.body ?? {}, 'body');
    const session = await loadThread(sessions(req), req.params.id);
    const before = query.before?.configurable?.checkpoint_id ?? query.before?.checkpoint_id;
    const all = await history(sessions(req), session);
    if (before && !all.some((point) => String(point.seq) === before)) throw new LangGraphError(404, `Checkpoint ${before} not found`);
    const points = before ? all.filter((point) => point.seq < Number(before)) : all;
    // Each state carries its transcript: the page also stops at a byte budget (its first state always in), as the native pages do.
    // Each state is encoded once, to be measured and sent.
    const states: string[] = [];
    let bytes = 0;
    for (const point of points) {
      if (states.length >= (query.limit ?? 10)) break;
      const state = stateView(session, point);
      if (query.metadata && !contains(state.metadata, query.metadata)) continue;
      const text = JSON.stringify(selectState(state, query.select ?? null));
      bytes += Buffer.byteLength(text);
      if (states.length > 0 && bytes > VALUES_BYTES) break;
      states.push(text);
    }
    res.type('application/json').send(`[${states.join(',')}]`);
  });
}

async function existing(sessions: TenantSessions, id: string, ifExists: 'raise' | 'do_nothing') {
  let session: SessionView;
  try {
    session = await sessions.getSession(id);
  } catch (error) {
    if (error instanceof SessionError && error.code === 'session_not_found') throw unsupported('Choosing a thread_id (Bamboo assigns thread ids)');
    throw error;
  }
  if (ifExists === 'raise') throw new LangGraphError(409, `Thread ${id} already exists`);
  return threadView(session, threadValues(await readLatest(sessions, id)));
}

/**
 * A search page's threads with their values. They share one budget, given out
 * in order and read one thread at a time: a thousand threads of 4 MiB each
 * would not fit in one response. A thread past it carries fewer messages, or
 * none; the page's first message always goes in, as in a history page.
 */
async function withSharedValues(sessions: TenantSessions, found: readonly SessionView[]) {
  let left = VALUES_BYTES;
  const threads: ReturnType<typeof threadView>[] = [];
  for (const session of found) {
    let messages: Message[] = [];
    try {
      if (left > 0) messages = await readLatest(sessions, session.id, left);
    } catch (error) {
      // Deleted since it was listed: the page goes on without it.
      if (error instanceof SessionError && error.code === 'session_not_found') continue;
      throw error;
    }
    const { values, bytes } = latestValues(messages, left, left === VALUES_BYTES);
    left -= bytes;
    threads.push(threadView(session, values));
  }
  return threads;
}

/** Every point of the thread's history, newest first. */
async function history(sessions: TenantSessions, session: SessionView): Promise<StatePoint[]> {
  const [log, messages] = await Promise.all([readHistory(sessions, session.id), readTranscript(sessions, session.id)]);
  return historyPoints(session, log, messages, pendingNow(session));
}

const LIST_PAGE = 200;

/**
 * The tenant's sessions that match, sorted and paged. Sessions are listed
 * newest first, so that order stops reading at the page's end; any other
 * reads them all.
 */
async function search(sessions: TenantSessions, query: Partial<ThreadSearch>, paged: boolean): Promise<SessionView[]> {
  if (query.values !== undefined && query.values !== null) throw unsupported('Searching threads by values');
  if (query.extract !== undefined && query.extract !== null) throw unsupported('extract');
  const matches = (session: SessionView) =>
    (!query.status || threadStatus(session) === query.status) && (!query.metadata || contains(threadMetadata(session), query.metadata));
  const offset = paged ? (query.offset ?? 0) : 0;
  const wanted = paged ? offset + (query.limit ?? 10) : Number.MAX_SAFE_INTEGER;
  const sortBy = query.sort_by ?? 'created_at';
  const newestFirst = (sortBy === 'created_at' || sortBy === 'thread_id') && query.sort_order !== 'asc';
  const found: SessionView[] = [];
  if (query.ids) {
    for (const id of query.ids) {
      const session = await loadThread(sessions, id).catch((error: unknown) => {
        if (error instanceof LangGraphError && error.status === 404) return null;
        throw error;
      });
      if (session && matches(session)) found.push(session);
    }
  } else {
    // Only `busy` and `interrupted` are one session state each; the store filters those.
    const state = query.status === 'busy' ? 'running' : query.status === 'interrupted' ? 'awaitingUser' : undefined;
    let cursor: string | undefined;
    do {
      const page = await sessions.listSessions({ limit: LIST_PAGE, cursor, state });
      found.push(...page.sessions.filter(matches));
      cursor = page.next_cursor ?? undefined;
    } while (cursor && !(newestFirst && found.length >= wanted));
  }
  const key = sortBy === 'status' ? threadStatus : (session: SessionView) => (sortBy === 'thread_id' ? session.id : sortBy === 'created_at' ? session.created_at : session.updated_at);
  found.sort((a, b) => key(a).localeCompare(key(b)) * (query.sort_order === 'asc' ? 1 : -1));
  return found.slice(offset, wanted);
}
