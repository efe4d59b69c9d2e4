/** Turns: a new message, resume, an answer to the open question, cancel. */
import type { RequestHandler, Router } from 'express';
import { sessionNotFound } from '../../domain/errors.js';
import type { SessionRuntime } from '../../runtime/runtime.js';
import { errorBody, methodNotAllowed } from '../errors.js';
import type { z } from 'zod';
import { appendMessageBody, emptyBody, respondBody, validBody } from '../validation.js';
import { messagesPage } from './sessions.js';

/** Registers on the API's one router: a request walks one route list, not one router per concern. */
export function turnsRoutes(router: Router, runtime: SessionRuntime, idempotent: RequestHandler): void {
  const eventsUrl = (baseUrl: string, id: string, after: number) => `${baseUrl}/sessions/${id}/events?after=${after}`;

  router
    .route('/sessions/:id/messages')
    .post(validBody(appendMessageBody), idempotent, async (req, res) => {
      const body = req.body as z.output<typeof appendMessageBody>;
      const result = await runtime.appendMessage(req.params.id, body.content, { resume: body.resume ?? true });
      if (result.outcome === null) {
        res.status(201).json({ message: result.message, outcome: null });
        return;
      }
      res.status(202).json({
        message: result.message,
        outcome: result.outcome,
        run_id: result.run_id,
        events_url: eventsUrl(req.baseUrl, req.params.id, result.events_after),
      });
    })
    .get(messagesPage(runtime))
    .all(methodNotAllowed(['GET', 'POST']));

  router
    .route('/sessions/:id/resume')
    .post(validBody(emptyBody), async (req, res) => {
      const result = await runtime.resume(req.params.id);
      switch (result.outcome) {
        case 'NotFound':
          res.status(404).json({ outcome: 'NotFound', ...errorBody(sessionNotFound(req.params.id)) });
          return;
        case 'Started':
          res.status(202).json({ outcome: 'Started', run_id: result.run_id, events_url: eventsUrl(req.baseUrl, req.params.id, result.events_after) });
          return;
        default:
          res.status(200).json(result);
      }
    })
    .all(methodNotAllowed(['POST']));

  router
    .route('/sessions/:id/respond')
    .post(validBody(respondBody), idempotent, async (req, res) => {
      const body = req.body as z.output<typeof respondBody>;
      const result = await runtime.respond(req.params.id, body.question_id, body.answer);
      if (result.replayed) {
        res.status(200).json(result);
        return;
      }
      res.status(202).json({ outcome: result.outcome, run_id: result.run_id, events_url: eventsUrl(req.baseUrl, req.params.id, result.events_after) });
    })
    .all(methodNotAllowed(['POST']));

  router
    .route('/sessions/:id/cancel')
    .post(validBody(emptyBody), async (req, res) => {
      res.status(200).json(await runtime.cancel(req.params.id));
    })
    .all(methodNotAllowed(['POST']));

}
