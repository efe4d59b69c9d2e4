/** Sessions: create, list, read, delete, and a session's statechart picture. */
import { sessionMachine } from '../../../machines/session.machine.js';
import { machineSvg } from '../../diagrams/index.js';
import { methodNotAllowed } from '../errors.js';
import { createSessionBody, listSessionsQuery, parse, validBody } from '../validation.js';
import { type RegisterRoutes, sessionsFor } from './deps.js';

const SVG = 'image/svg+xml; charset=utf-8';

export const sessionRoutes: RegisterRoutes = (router, { runtime, idempotent }) => {
  router
    .route('/sessions')
    .post(validBody(createSessionBody), idempotent, async (req, res) => {
      const acknowledge = req.idempotency && ((session: unknown) => req.idempotency!({ status: 201, body: { session } }));
      const session = await sessionsFor(runtime, req).createSession(req.body, acknowledge);
      res.status(201).location(`${req.baseUrl}/sessions/${session.id}`).json({ session });
    })
    .get(async (req, res) => {
      const query = parse(listSessionsQuery, req.query, 'query');
      res.json(await sessionsFor(runtime, req).listSessions({ limit: query.limit ?? 50, cursor: query.cursor, state: query.state }));
    })
    .all(methodNotAllowed(['GET', 'POST']));

  router
    .route('/sessions/:id')
    .get(async (req, res) => {
      const session = await sessionsFor(runtime, req).getSession(req.params.id);
      res.setHeader('ETag', `"${session.version}"`);
      res.json({ session });
    })
    .delete(async (req, res) => {
      await sessionsFor(runtime, req).deleteSession(req.params.id);
      res.status(204).end();
    })
    .all(methodNotAllowed(['GET', 'DELETE']));

  router
    .route('/sessions/:id/diagram.svg')
    .get(async (req, res) => {
      const session = await sessionsFor(runtime, req).getSession(req.params.id);
      const svg = await machineSvg(sessionMachine, session.state);
      // The state changes under the same URL; clients must not reuse a stale picture.
      res.type(SVG).setHeader('Cache-Control', 'no-store');
      res.send(svg);
    })
    .all(methodNotAllowed(['GET']));
};
