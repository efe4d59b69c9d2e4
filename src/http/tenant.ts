/** Which tenant a request acts for. Without API keys every request is the `default` tenant's. */
import type { RequestHandler } from 'express';

export const DEFAULT_TENANT = 'default';

declare module 'express-serve-static-core' {
  interface Request {
    tenant: string;
  }
}

export const defaultTenant: RequestHandler = (req, _res, next) => {
  req.tenant = DEFAULT_TENANT;
  next();
};
