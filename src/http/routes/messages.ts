/** A session's messages: the transcript, a new user turn, and the queue of turns waiting for the session to be free. */
import type { z } from 'zod';
import { methodNotAllowed } from '../errors.js';
import { presentAppend } from '../outcomes.js';
import { writeMessagesPage } from '../pages.js';
import { appendMessageBody, listMessagesQuery, parse, validBody } from '../validation.js';
import { type RegisterRoutes, sessionsFor } from './deps.js';

export const messageRoutes: RegisterRoutes = (router, { runtime, idempotent, page }) => {
  router
    .route('/sessions/:id/messages')
    .post(validBody(appendMessageBody), idempotent, async (req, res) => {
      const { id } = req.params;
      const body = req.body as z.output<typeof appendMessageBody>;
      const present = (result: Parameters<typeof presentAppend>[0]) => presentAppend(result, id, req.baseUrl);
      const result = await sessionsFor(runtime, req).appendMessage(id, body.content, {
        resume: body.resume ?? true,
        strategy: body.multitask_strategy ?? 'reject',
        acknowledge: req.idempotency && ((outcome) => req.idempotency!(present(outcome))),
      });
      const { status, body: reply } = present(result);
      res.status(status).json(reply);
    })
    .get(async (req, res) => {
      const query = parse(listMessagesQuery, req.query, 'query');
      await writeMessagesPage(res, sessionsFor(runtime, req), req.params.id, query.after, { limit: query.limit ?? 100, maxBytes: page.bytes, stallMs: page.stallMs });
    })
    .all(methodNotAllowed(['GET', 'POST']));

  router
    .route('/sessions/:id/queue/:message_id')
    .delete(async (req, res) => {
      await sessionsFor(runtime, req).removeQueued(req.params.id, req.params.message_id);
      res.status(204).end();
    })
    .all(methodNotAllowed(['DELETE']));
};
