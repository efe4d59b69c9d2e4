/**
 * JSON bodies only. A POST without a body needs no Content-Type; a body of
 * another type, or bytes that are not UTF-8 (Latin-1 text sent as JSON), is
 * refused with 415 rather than stored with its characters replaced. The raw
 * bytes are kept for idempotency.
 */
import { isUtf8 } from 'node:buffer';
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
      // body-parser's 415, answered as `unsupported_media_type`.
      if (!isUtf8(buf)) throw Object.assign(new Error('body: not UTF-8'), { status: 415 });
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
