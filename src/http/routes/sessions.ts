/** Sessions: create, list, read, delete, and the message history. */
import type { RequestHandler, Router } from 'express';
import type { SessionRuntime } from '../../runtime/runtime.js';
import { methodNotAllowed } from '../errors.js';
import type { z } from 'zod';
import { createSessionBody, listMessagesQuery, listSessionsQuery, parse, validBody } from '../validation.js';

/** Registers on the API's one router: a request walks one route list, not one router per concern. */
export function sessionsRoutes(router: Router, runtime: SessionRuntime, idempotent: RequestHandler): void {

  router
    .route('/sessions')
    .post(validBody(createSessionBody), idempotent, async (req, res) => {
      const session = await runtime.createSession(req.body as z.output<typeof createSessionBody>);
      res.status(201).location(`${req.baseUrl}/sessions/${session.id}`).json({ session });
    })
    .get(async (req, res) => {
      const query = parse(listSessionsQuery, req.query, 'query');
      res.json(await runtime.listSessions({ limit: query.limit ?? 50, cursor: query.cursor, state: query.state }));
    })
    .all(methodNotAllowed(['GET', 'POST']));

  router
    .route('/sessions/:id')
    .get(async (req, res) => {
      const session = await runtime.getSession(req.params.id);
      res.setHeader('ETag', `"${session.version}"`);
      res.json({ session });
    })
    .delete(async (req, res) => {
      await runtime.deleteSession(req.params.id);
      res.status(204).end();
    })
    .all(methodNotAllowed(['GET', 'DELETE']));

}

/** `GET` of the history shares its path with the `POST` of a new turn; see turns.ts. */
export function messagesPage(runtime: SessionRuntime): RequestHandler {
  return async (req, res) => {
    const query = parse(listMessagesQuery, req.query, 'query');
    res.json(await runtime.readMessages(String(req.params.id), { limit: query.limit ?? 100, cursor: query.after }));
  };
}
