/**
 * API keys on the API: when at least one key exists, every request must carry
 * one (`Authorization: Bearer KEY` or `x-api-key: KEY`) and acts for that
 * key's tenant. Without keys (a loopback dev server) everything is the
 * `default` tenant's.
 */
import type { Request, RequestHandler } from 'express';
import type { Authenticator } from '../auth/authenticator.js';
import { SessionError } from '../domain/errors.js';
import { DEFAULT_TENANT } from './tenant.js';

/** The key a request presents, if any. */
export function presentedKey(req: Request): string | undefined {
  const authorization = req.get('authorization');
  if (authorization !== undefined) {
    const bearer = /^Bearer\s+(\S+)\s*$/i.exec(authorization);
    return bearer?.[1] ?? '';
  }
  return req.get('x-api-key');
}

export function requireApiKey(authenticator: Authenticator): RequestHandler {
  return async (req, res, next) => {
    if (!(await authenticator.required())) {
      req.tenant = DEFAULT_TENANT;
      return next();
    }
    const key = presentedKey(req);
    const principal = key ? await authenticator.authenticate(key) : null;
    if (!principal) {
      res.setHeader('WWW-Authenticate', 'Bearer realm="bamboo"');
      const message = key === undefined ? 'An API key is required: send Authorization: Bearer KEY (or x-api-key: KEY)' : 'The API key is not valid';
      throw new SessionError('unauthorized', message);
    }
    req.tenant = principal.tenant;
    next();
  };
}
