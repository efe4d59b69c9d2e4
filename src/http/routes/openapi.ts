/** The OpenAPI document of this API, built once at start from the zod schemas. */
import { packageVersion } from '../../cli/version.js';
import { methodNotAllowed } from '../errors.js';
import { buildDocument } from '../openapi/document.js';
import type { RegisterRoutes } from './deps.js';

const API_PATH = '/api/v1';

export const openapiRoutes: RegisterRoutes = (router) => {
  const document = buildDocument(packageVersion());

  router
    .route('/openapi.json')
    .get((req, res) => {
      // The paths start at the app's root; where the app is mounted is known only per request.
      const root = req.baseUrl.endsWith(API_PATH) ? req.baseUrl.slice(0, -API_PATH.length) : '';
      res.json({ ...document, servers: [{ url: root || '/' }] });
    })
    .all(methodNotAllowed(['GET']));
};
