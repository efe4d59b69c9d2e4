/** Which tenant a request acts for (set by `requireApiKey`). Without API keys every request is the `default` tenant's. */

export const DEFAULT_TENANT = 'default';

declare module 'express-serve-static-core' {
  interface Request {
    tenant: string;
  }
}
