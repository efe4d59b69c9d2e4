/**
 * API keys on the API: when at least one key exists, every request must carry
 * one (`Authorization: Bearer KEY` or `x-api-key: KEY`) and acts for that
 * key's tenant. Without keys (a loopback dev server) everything is the
 * `default` tenant's.
 */
import type { Request, RequestHandler, Response } from 'express';
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
  const check = authenticate(authenticator);
  return (req, res, next) => {
    // Without keys, the common case, nothing to wait for.
    if (authenticator.requiredIfKnown() === false) {
      req.tenant = DEFAULT_TENANT;
      return next();
    }
    check(req, res).then(() => next(), next);
  };
}

function authenticate(authenticator: Authenticator): (req: Request, res: Response) => Promise<void> {
  return async (req, res) => {
    if (!(await authenticator.required())) {
      req.tenant = DEFAULT_TENANT;
      return;
    }
    const key = presentedKey(req);
    const principal = key ? await authenticator.authenticate(key) : null;
    if (!principal) {
      res.setHeader('WWW-Authenticate', 'Bearer realm="bamboo"');
      const message = key === undefined ? 'An API key is required: send Authorization: Bearer KEY (or x-api-key: KEY)' : 'The API key is not valid';
      throw new SessionError('unauthorized', message);
    }
    req.tenant = principal.tenant;
  };
}
