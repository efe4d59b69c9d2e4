/**
 * LangGraph's Platform API over Bamboo's runtime, for the official
 * `@langchain/langgraph-sdk` client and what is built on it (`useStream`,
 * Agent Chat UI). Mounted beside the native API, with the same API keys and
 * per-tenant limits; answers and errors are in LangGraph's shapes. What it
 * maps and what it leaves out: docs/langgraph.md.
 */
import { Router, type ErrorRequestHandler, type RequestHandler } from 'express';
import type { RouteDeps } from '../routes/deps.js';
import { assistantRoutes } from './assistants.js';
import { langGraphErrors, LangGraphError, notProvided } from './errors.js';
import { metaRoutes } from './meta.js';
import { runRoutes } from './runs.js';
import { threadRoutes } from './threads.js';

/**
 * Browsers may read, when CORS allows the origin, what the SDK reads from
 * headers: where a run lives (`onRunCreated`) and the next page of a search
 * (`assistants.search({ includePagination })`).
 */
const exposeSdkHeaders: RequestHandler = (_req, res, next) => {
  const exposed = res.getHeader('Access-Control-Expose-Headers');
  if (res.getHeader('Access-Control-Allow-Origin') !== undefined) {
    res.setHeader('Access-Control-Expose-Headers', [exposed, 'Content-Location', 'X-Pagination-Next'].filter(Boolean).join(', '));
  }
  next();
};

const notFound: RequestHandler = (req, _res, next) => next(new LangGraphError(404, `No route for ${req.method} ${req.path}`));

/**
 * The router and its error handler, for `app.use('/langgraph', ...langGraphApi(deps))`.
 * `deps.admit` holds the native API's own rate limiter, so a tenant's requests count together.
 */
export function langGraphApi(deps: RouteDeps): [Router, ErrorRequestHandler] {
  const router = Router();
  router.use(exposeSdkHeaders);
  metaRoutes(router);
  router.use(deps.admit);
  router.all(['/runs/crons{/*rest}', '/threads/:id/runs/crons{/*rest}'], notProvided('Crons'));
  router.all('/store{/*rest}', notProvided('The store API'));
  assistantRoutes(router, deps.runtime.agentNames);
  threadRoutes(router, deps.runtime);
  runRoutes(router, deps);
  router.use(notFound);
  router.use(langGraphErrors);
  // Also after the router: errors raised before it (a refused Host or Origin) are answered in the same shape.
  return [router, langGraphErrors];
}
