/**
 * Runs on a thread: create (in the background), stream, wait; list, get,
 * join, join the stream (replayed with `Last-Event-ID`), cancel. A run is a
 * Bamboo run: its id is the one in the session's log. A run queued behind
 * the active one is named by its message's id until it starts (run-lookup.ts).
 */
import type { Request, Response, Router } from 'express';
import type { SessionView } from '../../domain/types.js';
import { type RouteDeps, sessionsFor } from '../routes/deps.js';
import { parse } from '../validation.js';
import { LangGraphError, notProvided, otherMethods, runNotFound, unsupported } from './errors.js';
import { readHistory, runStartAfter } from './log.js';
import { isQueuedRef, lastRunFacts, runFacts, runStart, type RunStart } from './run-lookup.js';
import { cancelRun, openWaitingStream, streamNeverStarted, streamRun } from './run-stream.js';
import { cancelQuery, joinStreamQuery, runBody, runListQuery, type StreamMode, streamModes } from './schemas.js';
import { startRun, type StartedRun } from './start-run.js';
import { loadThread } from './threads.js';
import { pendingRunView, runView, selectFields } from './views.js';
import { answerWhenDone, runEnd, valuesAfter } from './wait.js';

/** How long `cancel` with `wait` waits for the run to end. */
const CANCEL_WAIT_MS = 10_000;

/** Paths as the SDK expects them: from the API's root, wherever it is mounted. */
const runPath = (threadId: string, runId: string) => `/threads/${threadId}/runs/${runId}`;
const streamPath = (threadId: string, runId: string, modes: ReadonlySet<StreamMode>) =>
  `${runPath(threadId, runId)}/stream?${[...modes].map((mode) => `stream_mode=${encodeURIComponent(mode)}`).join('&')}`;
/** What the SDK reads of a run stream's headers: the run (`onRunCreated`) and where to reconnect. */
const runHeaders = (threadId: string, runId: string, modes: ReadonlySet<StreamMode>) => ({ 'Content-Location': runPath(threadId, runId), Location: streamPath(threadId, runId, modes) });

/** `Last-Event-ID`: the `seq` of the last event the client has; `-1` (or none) for the whole run. */
function sentUpTo(header: string | undefined, startSeq: number): number {
  if (header === undefined || header.trim() === '') return startSeq - 1;
  if (!/^-?\d{1,15}$/.test(header.trim())) throw new LangGraphError(422, 'Last-Event-ID: not an id this stream sent');
  return Math.max(Number(header.trim()), startSeq - 1);
}

/** Aborts when the client goes (or has gone, while the run was being started): waiting on its behalf stops. */
function clientGone(res: Response): AbortSignal {
  const gone = new AbortController();
  if (res.closed) gone.abort();
  else res.once('close', () => gone.abort());
  return gone.signal;
}

/** Runs `leave` once `gone` aborts, or now if it has. */
function onLeave(gone: AbortSignal, leave: () => void): void {
  if (gone.aborted) leave();
  else gone.addEventListener('abort', leave, { once: true });
}

export function runRoutes(router: Router, { runtime, lifecycle, buffers, sse, streams }: RouteDeps): void {
  const sessions = (req: Request) => sessionsFor(runtime, req);

  /**
   * The request's thread as its run sees it, checked against its assistant. A
   * thread that has never run takes the run's assistant with its input (the
   * runtime checks again as it appends), as LangGraph's threads do:
   * `useStream` creates its thread without one.
   */
  const threadFor = async (req: Request, assistantId: string): Promise<SessionView> => {
    if (!runtime.agentNames.includes(assistantId)) throw new LangGraphError(404, `Assistant ${assistantId} not found`);
    const session = await loadThread(sessions(req), String(req.params.id));
    if (session.agent === assistantId) return session;
    if (!neverRan(session)) throw new LangGraphError(422, `Thread ${session.id} belongs to assistant ${session.agent}, not ${assistantId}`);
    return { ...session, agent: assistantId };
  };
  /** Where a run just asked for starts; waits while it is queued. */
  const startOfNew = async (req: Request, threadId: string, started: StartedRun, signal: AbortSignal): Promise<RunStart | null> => {
    if (started.eventsAfter !== null) {
      const startSeq = await runStartAfter(sessions(req), threadId, started.runId, started.eventsAfter);
      if (startSeq === null) throw runNotFound(started.runId);
      return { runId: started.runId, startSeq };
    }
    return runStart(sessions(req), await loadThread(sessions(req), threadId), started.runId, signal);
  };
  const follow = async (req: Request, res: Response, session: SessionView, ref: string, start: RunStart | null, modes: Set<StreamMode>, from: number | null, cancelOnDisconnect: boolean) => {
    if (!start) return streamNeverStarted(res, ref);
    await streamRun(
      { sessions: sessions(req), lifecycle, buffers, options: sse },
      {
        scope: { threadId: session.id, runId: start.runId, assistantId: session.agent, modes },
        startSeq: start.startSeq,
        sentUpTo: from ?? start.startSeq - 1,
        cancelOnDisconnect,
        headers: runHeaders(session.id, start.runId, modes),
      },
      req,
      res,
    );
  };
  /** Counts an event stream against the limits; released when the response closes. */
  const openStream = (req: Request, res: Response, threadId: string) =>
    streams.open({ tenant: req.tenant, session: threadId, client: req.socket.remoteAddress ?? 'unknown' }, res);
  /**
   * `on_disconnect: "cancel"` for a wait: a client that leaves before its
   * answer takes its run back, the queued message or the run it started.
   */
  const cancelOnLeave = (req: Request, res: Response, gone: AbortSignal, threadId: string, started: StartedRun, start: Promise<RunStart | null>) => {
    onLeave(gone, () => {
      if (res.writableFinished) return;
      if (started.queued) void sessions(req).removeQueued(threadId, started.runId).catch(() => undefined);
      start.then((run) => run && cancelRun(sessions(req), { threadId, runId: run.runId }, req)).catch(() => undefined);
    });
  };
  /** The thread's values once the run `ref` names is over (at once if it never starts). */
  const finalValues = async (req: Request, threadId: string, start: RunStart | null, signal: AbortSignal) => {
    if (start) await runEnd(sessions(req), threadId, start.runId, signal);
    return valuesAfter(sessions(req), threadId, start?.runId ?? null);
  };

  router
    .route('/threads/:id/runs')
    .post(async (req, res) => {
      const body = parse(runBody, req.body ?? {}, 'body');
      const session = await threadFor(req, body.assistant_id);
      const started = await startRun(sessions(req), session, body);
      res.setHeader('Content-Location', runPath(session.id, started.runId));
      if (started.queued) return res.json(pendingRunView(session, started.queued));
      // The run as recorded, so `runs.get` and `runs.list` tell the same times; a run that ended at once shows so.
      const now = await sessions(req).getSession(session.id);
      const facts = lastRunFacts(now, started.runId) ?? { id: started.runId, status: 'running', startedAt: new Date().toISOString(), endedAt: null };
      res.json(runView(now, facts, started.strategy));
    })
    .get(async (req, res) => {
      const query = parse(runListQuery, req.query, 'query');
      const session = await loadThread(sessions(req), req.params.id);
      const pending = session.queued.map((message) => pendingRunView(session, message)).reverse();
      // Pending runs are the queue's: the log is read only for the others.
      const done = query.status === 'pending' ? [] : (await readHistory(sessions(req), session.id)).runs.reverse().map((run) => runView(session, run));
      const runs = [...pending, ...done].filter((run) => !query.status || run.status === query.status);
      const offset = query.offset ?? 0;
      const page = runs.slice(offset, offset + (query.limit ?? 10));
      const { select } = query;
      res.json(select ? page.map((run) => selectFields(run, select)) : page);
    })
    .all(otherMethods(['GET', 'POST'], 'on a thread\'s runs'));

  router.post('/threads/:id/runs/stream', async (req, res) => {
    const body = parse(runBody, req.body ?? {}, 'body');
    const modes = streamModes(body.stream_mode);
    const session = await threadFor(req, body.assistant_id);
    // Counted before the run starts: a refused stream starts nothing.
    const release = await openStream(req, res, session.id);
    try {
      const started = await startRun(sessions(req), session, body);
      const gone = clientGone(res);
      // A queued message whose client leaves, asking to cancel on disconnect, is taken back.
      if (started.queued && body.on_disconnect === 'cancel') onLeave(gone, () => void sessions(req).removeQueued(session.id, started.runId).catch(() => undefined));
      // A queued run may wait long: its stream opens now, naming it by its message until it starts.
      const stopWaiting = started.queued ? openWaitingStream(res, runHeaders(session.id, started.runId, modes), sse.pingIntervalMs) : () => undefined;
      const start = await startOfNew(req, session.id, started, gone).finally(stopWaiting);
      await follow(req, res, session, started.runId, start, modes, null, body.on_disconnect === 'cancel');
    } catch (error) {
      release();
      throw error;
    }
  });

  router.post('/threads/:id/runs/wait', async (req, res) => {
    const body = parse(runBody, req.body ?? {}, 'body');
    const session = await threadFor(req, body.assistant_id);
    const started = await startRun(sessions(req), session, body);
    res.setHeader('Content-Location', runPath(session.id, started.runId));
    const gone = clientGone(res);
    const start = startOfNew(req, session.id, started, gone);
    if (body.on_disconnect === 'cancel') cancelOnLeave(req, res, gone, session.id, started, start);
    const values = start.then((run) => finalValues(req, session.id, run, gone));
    await answerWhenDone(res, values, sse.pingIntervalMs);
  });

  router
    .route('/threads/:id/runs/:run')
    .get(async (req, res) => {
      const session = await loadThread(sessions(req), req.params.id);
      const queued = session.queued.find((message) => message.id === req.params.run);
      res.json(queued ? pendingRunView(session, queued) : runView(session, await runFacts(sessions(req), session, req.params.run)));
    })
    .all(otherMethods(['GET'], 'on a run (a run is part of the thread\'s log)'));

  router.get('/threads/:id/runs/:run/join', async (req, res) => {
    const session = await loadThread(sessions(req), req.params.id);
    const gone = clientGone(res);
    const values = runStart(sessions(req), session, req.params.run, gone).then((start) => finalValues(req, session.id, start, gone));
    await answerWhenDone(res, values, sse.pingIntervalMs);
  });

  router.get('/threads/:id/runs/:run/stream', async (req, res) => {
    const query = parse(joinStreamQuery, req.query, 'query');
    const modes = streamModes(query.stream_mode);
    const session = await loadThread(sessions(req), req.params.id);
    const header = req.get('Last-Event-ID');
    const release = await openStream(req, res, session.id);
    try {
      const start = await runStart(sessions(req), session, req.params.run, clientGone(res));
      const from = start ? sentUpTo(header, start.startSeq) : null;
      await follow(req, res, session, req.params.run, start, modes, from, query.cancel_on_disconnect);
    } catch (error) {
      release();
      throw error;
    }
  });

  router.post('/threads/:id/runs/:run/cancel', async (req, res) => {
    const query = parse(cancelQuery, req.query, 'query');
    if (query.action === 'rollback') throw unsupported('Cancelling with action "rollback" (a run\'s events stay in the log)');
    const session = await loadThread(sessions(req), req.params.id);
    if (isQueuedRef(req.params.run) && session.queued.some((message) => message.id === req.params.run)) {
      // A pending run is a queued message: taking it back is immediate.
      await sessions(req).removeQueued(session.id, req.params.run);
      return res.status(query.wait ? 204 : 202).end();
    }
    const run = await runFacts(sessions(req), session, req.params.run);
    if (session.run_id !== run.id) throw new LangGraphError(409, `Run ${req.params.run} is not running`);
    await sessions(req).cancel(session.id, run.id);
    if (!query.wait) return res.status(202).end();
    // A run in another process ends when its owner hears of the cancel; past the wait, the cancel is still under way.
    const ended = await runEnd(sessions(req), session.id, run.id, AbortSignal.timeout(CANCEL_WAIT_MS)).then(
      () => true,
      () => false,
    );
    res.status(ended ? 204 : 202).end();
  });

  router.all(['/runs', '/runs/stream', '/runs/wait', '/runs/batch', '/runs/cancel', '/runs/:run/stream'], notProvided('Runs without a thread'));
}

/** No message, no run, nothing queued: the thread may still take an assistant. */
function neverRan(session: SessionView): boolean {
  return session.state === 'idle' && session.message_count === 0 && session.last_run === null && session.queued.length === 0;
}
