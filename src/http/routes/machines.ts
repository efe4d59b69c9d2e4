/** The session statechart as data and pictures, generated from the machine itself. */
import { sessionMachine } from '../../../machines/session.machine.js';
import { diagramDetail, machineJson, machineSvg, toMermaid } from '../../diagrams/index.js';
import { methodNotAllowed } from '../errors.js';
import type { RegisterRoutes } from './deps.js';

const SVG = 'image/svg+xml; charset=utf-8';

export const machineRoutes: RegisterRoutes = (router) => {
  const definition = machineJson(sessionMachine);
  const mermaid = toMermaid(definition);

  router
    .route('/machines/session')
    .get((_req, res) => {
      res.json({ machine: definition, mermaid });
    })
    .all(methodNotAllowed(['GET']));

  router
    .route('/machines/session.svg')
    .get(async (req, res) => {
      // `?detail=compact`: state and event names only, legible at a sidebar's size.
      const svg = await machineSvg(sessionMachine, undefined, { detail: diagramDetail(req.query.detail) });
      res.type(SVG).setHeader('Cache-Control', 'public, max-age=300');
      res.send(svg);
    })
    .all(methodNotAllowed(['GET']));
};
