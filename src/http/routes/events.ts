/** The event log: an SSE stream for `EventSource`, a JSON page otherwise. */
import type { Router } from 'express';
import type { SessionRuntime } from '../../runtime/runtime.js';
import { methodNotAllowed } from '../errors.js';
import { type SseOptions, streamEvents } from '../sse.js';
import { eventsQuery, lastEventId, parse } from '../validation.js';

/** Registers on the API's one router: a request walks one route list, not one router per concern. */
export function eventsRoutes(router: Router, runtime: SessionRuntime, sse: SseOptions): void {

  router
    .route('/sessions/:id/events')
    .get(async (req, res) => {
      const query = parse(eventsQuery, req.query, 'query');
      const header = req.get('Last-Event-ID');
      const resumeFrom = header === undefined ? undefined : parse(lastEventId, header.trim(), 'Last-Event-ID');
      if ((req.get('Accept') ?? '').includes('text/event-stream')) {
        // A reconnecting EventSource keeps its URL, so the header wins over `?after=`.
        await streamEvents(runtime, req.params.id, resumeFrom ?? query.after ?? null, req, res, sse);
        return;
      }
      res.json(await runtime.readEvents(req.params.id, resumeFrom ?? query.after ?? 0, query.limit ?? 100));
    })
    .all(methodNotAllowed(['GET']));

}
