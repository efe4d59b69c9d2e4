/**
 * JSON bodies only. A POST without a body needs no Content-Type; a body of
 * another type is refused with 415. The raw bytes are kept for idempotency.
 */
import express, { type RequestHandler } from 'express';
import { SessionError } from '../domain/errors.js';

declare module 'express-serve-static-core' {
  interface Request {
    rawBody?: Buffer;
  }
}

function hasBody(headers: { 'content-length'?: string; 'transfer-encoding'?: string }): boolean {
  return headers['transfer-encoding'] !== undefined || (headers['content-length'] !== undefined && headers['content-length'] !== '0');
}

export function jsonBody(limit: number): RequestHandler {
  const parseJson = express.json({
    limit,
    strict: false,
    type: 'application/json',
    verify: (req, _res, buf) => {
      (req as express.Request).rawBody = buf;
    },
  });
  return (req, res, next) => {
    // Most requests (GETs, resume, cancel) carry no body: nothing to read.
    if (!hasBody(req.headers)) return next();
    if (!req.is('application/json')) {
      return next(new SessionError('unsupported_media_type', 'body: Content-Type must be application/json'));
    }
    parseJson(req, res, next);
  };
}
