/** A session's event log: an SSE stream for `text/event-stream` clients, a JSON page otherwise. */
import { methodNotAllowed } from '../errors.js';
import { writeEventsPage } from '../pages.js';
import { streamEvents } from '../sse.js';
import { eventsQuery, lastEventId, parse } from '../validation.js';
import { type RegisterRoutes, sessionsFor } from './deps.js';

export const eventRoutes: RegisterRoutes = (router, { runtime, sse, lifecycle, streams, buffers, page }) => {
  router
    .route('/sessions/:id/events')
    .get(async (req, res) => {
      const query = parse(eventsQuery, req.query, 'query');
      const header = req.get('Last-Event-ID');
      const resumeFrom = header === undefined ? undefined : parse(lastEventId, header.trim(), 'Last-Event-ID');
      const sessions = sessionsFor(runtime, req);
      if ((req.get('Accept') ?? '').includes('text/event-stream')) {
        // A reconnecting EventSource keeps its URL, so the header wins over `?after=`.
        const release = await streams.open({ tenant: req.tenant, session: req.params.id, client: req.socket.remoteAddress ?? 'unknown' }, res);
        await streamEvents({ sessions, lifecycle, buffers, options: sse }, req.params.id, resumeFrom ?? query.after ?? null, req, res).catch((error: unknown) => {
          release();
          throw error;
        });
        return;
      }
      await writeEventsPage(res, sessions, req.params.id, resumeFrom ?? query.after ?? 0, { limit: query.limit ?? 100, maxBytes: page.bytes, stallMs: page.stallMs });
    })
    .all(methodNotAllowed(['GET']));
};
