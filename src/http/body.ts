/**
 * JSON bodies only. A POST without a body needs no Content-Type; a body of
 * another type, or bytes that are not UTF-8 (Latin-1 text sent as JSON), is
 * refused with 415 rather than stored with its characters replaced. The raw
 * bytes are kept for idempotency. A key `__proto__` is refused: JSON.parse
 * keeps it, but copying the object (as validation does) would drop it.
 */
import { isUtf8 } from 'node:buffer';
import express, { type RequestHandler } from 'express';
import { SessionError } from '../domain/errors.js';

declare module 'express-serve-static-core' {
  interface Request {
    rawBody?: Buffer;
  }
}

const CHARSET = /;\s*charset="?([^";\s]+)/i;

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
    // body-parser would decode UTF-16 and others: JSON is UTF-8 (RFC 8259).
    const charset = CHARSET.exec(req.headers['content-type'] ?? '')?.[1]?.toLowerCase();
    if (charset !== undefined && charset !== 'utf-8' && charset !== 'utf8') {
      return next(new SessionError('unsupported_media_type', `body: charset ${charset} is not accepted; send UTF-8`));
    }
    parseJson(req, res, (error?: unknown) => {
      if (error) return next(error);
      // Only a body that may spell the key (plainly or with \u escapes) is walked.
      const suspect = req.rawBody !== undefined && (req.rawBody.includes('__proto__') || req.rawBody.includes('\\u'));
      if (suspect && hasProtoKey(req.body)) {
        return next(new SessionError('invalid_request', 'body: the key "__proto__" is not allowed (it would be lost); rename it'));
      }
      next();
    });
  };
}

/** Walks without recursion: a deeply nested body must not overflow the stack. */
function hasProtoKey(value: unknown): boolean {
  const stack = [value];
  while (stack.length > 0) {
    const item = stack.pop();
    if (item === null || typeof item !== 'object') continue;
    if (Object.hasOwn(item, '__proto__')) return true;
    for (const child of Object.values(item)) stack.push(child);
  }
  return false;
}
