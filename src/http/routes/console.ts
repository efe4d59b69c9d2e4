/**
 * The web console: static HTML, CSS and ES modules shipped in the package
 * (src/http/console/), no build step and nothing from a CDN. The CSP keeps it
 * that way: the page may talk to its own origin only.
 */
import { existsSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import express, { type Response } from 'express';
import { methodNotAllowed } from '../errors.js';
import type { RegisterRoutes } from './deps.js';

// Next to this module when run from source; the compiled build (dist/src/…) copies no assets, so it reads the shipped src/.
const ASSETS = ['../console/', '../../../../src/http/console/']
  .map((relative) => fileURLToPath(new URL(relative, import.meta.url)))
  .find((dir) => existsSync(`${dir}index.html`))!;
const CSP = "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; connect-src 'self'; base-uri 'self'; form-action 'self'; frame-ancestors 'none'";

function secure(res: Response): void {
  res.setHeader('Content-Security-Policy', CSP);
  res.setHeader('X-Content-Type-Options', 'nosniff');
  res.setHeader('Referrer-Policy', 'same-origin');
}

/** A URL's path and its query (with its `?`, or empty). */
function splitUrl(url: string): [string, string] {
  const at = url.indexOf('?');
  return at === -1 ? [url, ''] : [url.slice(0, at), url.slice(at)];
}

export const consoleRoutes: RegisterRoutes = (router) => {
  const page = readFileSync(`${ASSETS}index.html`, 'utf8');

  router
    .route('/')
    .get((req, res) => {
      // Mounted under a path (`/bamboo`), the page's relative links need the trailing slash to resolve inside the mount.
      const [path, query] = splitUrl(req.originalUrl);
      if (!path.endsWith('/')) return res.redirect(301, `${req.baseUrl}/${query}`);
      secure(res);
      res.setHeader('Cache-Control', 'no-cache');
      res.type('html').send(page);
    })
    .all(methodNotAllowed(['GET']));

  router.use(
    '/console',
    express.static(ASSETS, {
      index: false,
      fallthrough: true,
      // Small files, sent whole: a Range header is ignored rather than answered 416.
      acceptRanges: false,
      setHeaders: (res) => {
        secure(res);
        res.setHeader('Cache-Control', 'no-cache');
      },
    }),
  );
};
