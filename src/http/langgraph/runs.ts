/**
 * Runs on a thread: create (in the background), stream, wait; list, get,
 * join, join the stream (replayed with `Last-Event-ID`), cancel. A run is a
 * Bamboo run: its id is the one in the session's log.
 */
import type { Request, Response, Router } from 'express';
import type { SessionView } from '../../domain/types.js';
import type { TenantSessions } from '../../runtime/runtime.js';
import { type RouteDeps, sessionsFor } from '../routes/deps.js';
import { parse } from '../validation.js';
import { LangGraphError, notProvided, otherMethods, runNotFound, unsupported } from './errors.js';
import { findRun, readHistory } from './log.js';
import { streamRun } from './run-stream.js';
import { cancelQuery, joinStreamQuery, runBody, runListQuery, type StreamMode, streamModes } from './schemas.js';
import { startRun, type StartedRun } from './start-run.js';
import { loadThread } from './threads.js';
import { type RunFacts, runStatus, runView } from './views.js';
import { answerWhenDone, runEnd, valuesAfter } from './wait.js';

/** How long `cancel` with `wait` waits for the run to end. */
const CANCEL_WAIT_MS = 10_000;

/** Paths as the SDK expects them: from the API's root, wherever it is mounted. */
const runPath = (threadId: string, runId: string) => `/threads/${threadId}/runs/${runId}`;
const streamPath = (threadId: string, runId: string, modes: ReadonlySet<StreamMode>) =>
  `${runPath(threadId, runId)}/stream?${[...modes].map((mode) => `stream_mode=${encodeURIComponent(mode)}`).join('&')}`;

/** A run of the thread, from the session itself when it is the current or last one, else from the log. */
async function runFacts(sessions: TenantSessions, session: SessionView, runId: string): Promise<RunFacts> {
  const last = session.last_run;
  if (last?.id === runId) return { id: last.id, status: last.status, startedAt: last.started_at, endedAt: last.ended_at };
  const run = await findRun(sessions, session.id, runId, session.last_event_seq);
  if (!run) throw runNotFound(runId);
  return run;
}

/** `Last-Event-ID`: the `seq` of the last event the client has; `-1` (or none) for the whole run. */
function sentUpTo(header: string | undefined, startSeq: number): number {
  if (header === undefined || header.trim() === '') return startSeq - 1;
  if (!/^-?\d{1,15}$/.test(header.trim())) throw new LangGraphError(422, 'Last-Event-ID: not an id this stream sent');
  return Math.max(Number(header.trim()), startSeq - 1);
}

export function runRoutes(router: Router, { runtime, lifecycle, buffers, sse, streams }: RouteDeps): void {
  const sessions = (req: Request) => sessionsFor(runtime, req);

  /** The request's thread, checked against its assistant. */
  const threadFor = async (req: Request, assistantId: string): Promise<SessionView> => {
    if (!runtime.agentNames.includes(assistantId)) throw new LangGraphError(404, `Assistant ${assistantId} not found`);
    const session = await loadThread(sessions(req), String(req.params.id));
    if (session.agent !== assistantId) throw new LangGraphError(422, `Thread ${session.id} belongs to assistant ${session.agent}, not ${assistantId}`);
    return session;
  };
  const follow = async (req: Request, res: Response, session: SessionView, run: { runId: string; startSeq: number }, modes: Set<StreamMode>, from: number, cancelOnDisconnect: boolean) => {
    await streamRun(
      { sessions: sessions(req), lifecycle, buffers, options: sse },
      {
        scope: { threadId: session.id, runId: run.runId, assistantId: session.agent, modes },
        startSeq: run.startSeq,
        sentUpTo: from,
        cancelOnDisconnect,
        headers: { 'Content-Location': runPath(session.id, run.runId), Location: streamPath(session.id, run.runId, modes) },
      },
      req,
      res,
    );
  };
  /** Counts an event stream against the limits; released when the response closes. */
  const openStream = (req: Request, res: Response, threadId: string) => {
    const release = streams.acquire({ tenant: req.tenant, session: threadId, client: req.socket.remoteAddress ?? 'unknown' });
    res.once('close', release);
    return release;
  };
  const startSeqOf = async (req: Request, session: SessionView, started: StartedRun) => {
    if (started.eventsAfter !== null) return started.eventsAfter + 1;
    const { last_event_seq: lastSeq } = await sessions(req).getSession(session.id);
    const run = await findRun(sessions(req), session.id, started.runId, lastSeq);
    if (!run) throw runNotFound(started.runId);
    return run.startSeq;
  };

  router
    .route('/threads/:id/runs')
    .post(async (req, res) => {
      const body = parse(runBody, req.body ?? {}, 'body');
      const session = await threadFor(req, body.assistant_id);
      const started = await startRun(sessions(req), session, body);
      const now = new Date().toISOString();
      res.setHeader('Content-Location', runPath(session.id, started.runId));
      res.json(runView(session, { id: started.runId, status: 'running', startedAt: now, endedAt: null }, started.strategy));
    })
    .get(async (req, res) => {
      const query = parse(runListQuery, req.query, 'query');
      const session = await loadThread(sessions(req), req.params.id);
      const runs = (await readHistory(sessions(req), session.id)).runs
        .reverse()
        .filter((run) => !query.status || runStatus(run.status) === query.status);
      const offset = query.offset ?? 0;
      res.json(runs.slice(offset, offset + (query.limit ?? 10)).map((run) => runView(session, run)));
    })
    .all(otherMethods(['GET', 'POST'], 'on a thread\'s runs'));

  router.post('/threads/:id/runs/stream', async (req, res) => {
    const body = parse(runBody, req.body ?? {}, 'body');
    const modes = streamModes(body.stream_mode);
    const session = await threadFor(req, body.assistant_id);
    // Counted before the run starts: a refused stream starts nothing.
    const release = openStream(req, res, session.id);
    try {
      const started = await startRun(sessions(req), session, body);
      const startSeq = await startSeqOf(req, session, started);
      await follow(req, res, session, { runId: started.runId, startSeq }, modes, startSeq - 1, body.on_disconnect === 'cancel');
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
    await answerWhenDone(res, finalValues(req, res, session.id, started.runId), sse.pingIntervalMs);
  });

  /** The thread's values once the run is over; stops waiting if the client goes. */
  const finalValues = async (req: Request, res: Response, threadId: string, runId: string) => {
    const left = new AbortController();
    res.once('close', () => left.abort());
    await runEnd(sessions(req), threadId, runId, left.signal);
    return valuesAfter(sessions(req), threadId, runId);
  };

  router
    .route('/threads/:id/runs/:run')
    .get(async (req, res) => {
      const session = await loadThread(sessions(req), req.params.id);
      res.json(runView(session, await runFacts(sessions(req), session, req.params.run)));
    })
    .all(otherMethods(['GET'], 'on a run (a run is part of the thread\'s log)'));

  router.get('/threads/:id/runs/:run/join', async (req, res) => {
    const session = await loadThread(sessions(req), req.params.id);
    await runFacts(sessions(req), session, req.params.run);
    await answerWhenDone(res, finalValues(req, res, session.id, req.params.run), sse.pingIntervalMs);
  });

  router.get('/threads/:id/runs/:run/stream', async (req, res) => {
    const query = parse(joinStreamQuery, req.query, 'query');
    const modes = streamModes(query.stream_mode);
    const session = await loadThread(sessions(req), req.params.id);
    const run = await findRun(sessions(req), session.id, req.params.run, session.last_event_seq);
    if (!run) throw runNotFound(req.params.run);
    const from = sentUpTo(req.get('Last-Event-ID'), run.startSeq);
    const release = openStream(req, res, session.id);
    try {
      await follow(req, res, session, { runId: run.id, startSeq: run.startSeq }, modes, from, query.cancel_on_disconnect);
    } catch (error) {
      release();
      throw error;
    }
  });

  router.post('/threads/:id/runs/:run/cancel', async (req, res) => {
    const query = parse(cancelQuery, req.query, 'query');
    if (query.action === 'rollback') throw unsupported('Cancelling with action "rollback" (a run\'s events stay in the log)');
    const session = await loadThread(sessions(req), req.params.id);
    const run = await runFacts(sessions(req), session, req.params.run);
    if (session.run_id !== run.id) throw new LangGraphError(409, `Run ${run.id} is not running`);
    await sessions(req).cancel(session.id);
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
