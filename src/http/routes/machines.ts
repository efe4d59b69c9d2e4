/**
 * The session statechart as data and pictures, generated from the machine
 * itself: JSON + Mermaid, SVG, and SVG with one session's state highlighted.
 */
import { Router } from 'express';
import { sessionMachine } from '../../../machines/session.machine.js';
import { SessionError } from '../../domain/errors.js';
import { machineJson, machineSvg, toMermaid } from '../../diagrams/index.js';
import type { SessionRuntime } from '../../runtime/runtime.js';
import { methodNotAllowed, sendError } from '../errors.js';

const SVG = 'image/svg+xml; charset=utf-8';

export function machinesRouter(runtime: SessionRuntime): Router {
  const router = Router();
  const definition = machineJson(sessionMachine);
  const mermaid = toMermaid(definition);

  router
    .route('/api/v1/machines/session')
    .get((_req, res) => {
      res.json({ machine: definition, mermaid });
    })
    .all(methodNotAllowed(['GET']));

  router
    .route('/api/v1/machines/session.svg')
    .get(async (_req, res) => {
      const svg = await machineSvg(sessionMachine);
      res.type(SVG).setHeader('Cache-Control', 'public, max-age=300');
      res.send(svg);
    })
    .all(methodNotAllowed(['GET']));

  router
    .route('/api/v1/sessions/:id/diagram.svg')
    .get(async (req, res) => {
      try {
        const session = await runtime.getSession(req.params.id);
        const svg = await machineSvg(sessionMachine, session.state);
        // The state changes under the same URL; clients must not reuse a stale picture.
        res.type(SVG).setHeader('Cache-Control', 'no-store');
        res.send(svg);
      } catch (error) {
        if (!(error instanceof SessionError)) throw error;
        sendError(res, error);
      }
    })
    .all(methodNotAllowed(['GET']));

  return router;
}
