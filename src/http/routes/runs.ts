/** A session's runs: resume, answer the open question, cancel. */
import type { z } from 'zod';
import type { RespondOutcome } from '../../domain/outcomes.js';
import { methodNotAllowed } from '../errors.js';
import { presentOutcome } from '../outcomes.js';
import { emptyBody, respondBody, validBody } from '../validation.js';
import { type RegisterRoutes, sessionsFor } from './deps.js';

export const runRoutes: RegisterRoutes = (router, { runtime, idempotent }) => {
  router
    .route('/sessions/:id/resume')
    .post(validBody(emptyBody), async (req, res) => {
      const { status, body } = presentOutcome(await sessionsFor(runtime, req).resume(req.params.id), req.params.id, req.baseUrl);
      res.status(status).json(body);
    })
    .all(methodNotAllowed(['POST']));

  router
    .route('/sessions/:id/respond')
    .post(validBody(respondBody), idempotent, async (req, res) => {
      const { id } = req.params;
      const body = req.body as z.output<typeof respondBody>;
      const present = (result: RespondOutcome) => presentOutcome(result, id, req.baseUrl);
      const acknowledge = req.idempotency && ((result: RespondOutcome) => req.idempotency!(present(result)));
      const { status, body: reply } = present(await sessionsFor(runtime, req).respond(id, body.question_id, body.answer, acknowledge));
      res.status(status).json(reply);
    })
    .all(methodNotAllowed(['POST']));

  router
    .route('/sessions/:id/cancel')
    .post(validBody(emptyBody), async (req, res) => {
      const { status, body } = presentOutcome(await sessionsFor(runtime, req).cancel(req.params.id), req.params.id, req.baseUrl);
      res.status(status).json(body);
    })
    .all(methodNotAllowed(['POST']));
};
