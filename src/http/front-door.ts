/**
 * The front door, before anything else runs:
 * - a Host allow-list, so a page on a rebound DNS name cannot reach the server
 *   through a victim's browser (421 `host_not_allowed`);
 * - no state-changing request from another site: a non-GET request whose
 *   `Origin` is neither the server's own nor listed is refused (403
 *   `origin_not_allowed`), whatever its body; requests without `Origin`
 *   (curl, other servers) are not browsers' and pass;
 * - CORS, for the listed origins only.
 */
import { isIP } from 'node:net';
import cors from 'cors';
import type { Request, RequestHandler } from 'express';
import { SessionError } from '../domain/errors.js';

export interface FrontDoorOptions {
  /** The address the server listens on. */
  listenHost: string;
  /** Extra Host names allowed; `*` turns the check off. */
  allowedHosts: readonly string[] | '*';
  /** Origins allowed to call the API from a browser, e.g. `https://app.example.com`. */
  corsOrigins: readonly string[];
}

const LOOPBACK_NAMES = ['localhost', '127.0.0.1', '::1'];
const SAFE_METHODS = new Set(['GET', 'HEAD', 'OPTIONS']);

/** `example.com:3000` → `example.com`; `[::1]:3000` → `::1`. */
export function hostName(host: string): string {
  const bracketed = /^\[([^\]]+)\](?::\d+)?$/.exec(host);
  if (bracketed) return bracketed[1]!.toLowerCase();
  return host.replace(/:\d+$/, '').toLowerCase();
}

export function allowHosts({ listenHost, allowedHosts }: FrontDoorOptions): RequestHandler {
  // HTTP/1.1 requires a Host (RFC 9112, 3.2); HTTP/1.0 may leave it out.
  const missing = (req: Request) => req.headers.host === undefined && req.httpVersion !== '1.0';
  const required = () => new SessionError('invalid_request', 'A Host header is required (HTTP/1.1)');
  if (allowedHosts === '*') return (req, _res, next) => next(missing(req) ? required() : undefined);
  const allowed = new Set([...LOOPBACK_NAMES, hostName(listenHost), ...allowedHosts.map((host) => hostName(host))]);
  // Clients send the same Host again and again: the last verdict is kept.
  let last = { host: '', allowed: false };
  return (req, _res, next) => {
    if (missing(req)) return next(required());
    const host = req.headers.host ?? '';
    if (host === last.host && last.allowed) return next();
    const name = hostName(host);
    // An address cannot be rebound to another server: only names need the list.
    if (allowed.has(name) || isIP(name) !== 0) {
      last = { host, allowed: true };
      return next();
    }
    next(new SessionError('host_not_allowed', `Host ${JSON.stringify(name)} is not served here; add it to BAMBOO_ALLOWED_HOSTS to allow it`));
  };
}

export function guardOrigins({ corsOrigins }: FrontDoorOptions): RequestHandler {
  const listed = new Set(corsOrigins.map((origin) => origin.replace(/\/+$/, '').toLowerCase()));
  const isListed = (origin: string | undefined) => origin !== undefined && listed.has(origin.toLowerCase());
  const corsForListed = cors({
    origin: (origin, callback) => callback(null, isListed(origin)),
    methods: ['GET', 'POST', 'DELETE'],
    allowedHeaders: ['Authorization', 'Content-Type', 'Idempotency-Key', 'Last-Event-ID', 'X-API-Key', 'X-Request-Id'],
    exposedHeaders: ['ETag', 'Location', 'Retry-After', 'RateLimit-Limit', 'RateLimit-Remaining', 'RateLimit-Reset', 'RateLimit-Policy', 'Idempotent-Replayed', 'X-Request-Id', 'WWW-Authenticate'],
    maxAge: 600,
  });
  return (req, res, next) => {
    const origin = req.headers.origin;
    // No Origin: not a browser's request (curl, another server), or a same-origin GET.
    if (origin === undefined) return next();
    if (isListed(origin)) return corsForListed(req, res, next);
    // A preflight asks leave for a write: refused here, before the key check could answer it 401.
    const preflight = req.method === 'OPTIONS' && req.headers['access-control-request-method'] !== undefined;
    if ((SAFE_METHODS.has(req.method) && !preflight) || isOwnOrigin(origin, req.headers.host)) return next();
    next(new SessionError('origin_not_allowed', `Requests from ${origin} are not allowed; add it to BAMBOO_CORS_ORIGINS to allow it`));
  };
}

/** A page of this server itself: its Origin names the host the request was sent to. */
function isOwnOrigin(origin: string, host: string | undefined): boolean {
  try {
    return host !== undefined && new URL(origin).host.toLowerCase() === host.toLowerCase();
  } catch {
    return false;
  }
}
