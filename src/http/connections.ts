/**
 * Answers written on the connection itself, before or without Express: a
 * client address over its connections, and requests Node refuses or would
 * answer itself (an unknown `Expect`). All in the API's JSON error shape.
 */
import { type IncomingMessage, type Server, type ServerResponse, STATUS_CODES } from 'node:http';
import type { Duplex } from 'node:stream';
import type { ErrorCode } from '../domain/errors.js';
import { statusOf } from './errors.js';

function envelope(code: ErrorCode, message: string): string {
  return JSON.stringify({ error: { code, message } });
}

/** A whole HTTP response carrying the API's JSON error, ending its connection. */
function rawError(code: ErrorCode, message: string, headers: readonly string[] = []): string {
  const status = statusOf(code);
  const body = envelope(code, message);
  const head = [`HTTP/1.1 ${status} ${STATUS_CODES[status]}`, 'Content-Type: application/json; charset=utf-8', ...headers, 'Connection: close', `Content-Length: ${Buffer.byteLength(body)}`];
  return `${head.join('\r\n')}\r\n\r\n${body}`;
}

/**
 * Connections a single client address may hold open. Past it, a new connection
 * is answered `503` and closed, so one client cannot take every file
 * descriptor from the others (health checks included).
 */
export function limitConnectionsPerClient(server: Server, max: number): void {
  if (max <= 0) return;
  const open = new Map<string, number>();
  const refusal = rawError('unavailable', `This client address already has ${max} open connections; close some first`, ['Retry-After: 5']);
  server.on('connection', (socket) => {
    const address = socket.remoteAddress ?? 'unknown';
    const count = (open.get(address) ?? 0) + 1;
    if (count > max) {
      socket.end(refusal);
      socket.destroySoon();
      return;
    }
    open.set(address, count);
    socket.once('close', () => {
      const left = (open.get(address) ?? 1) - 1;
      if (left <= 0) open.delete(address);
      else open.set(address, left);
    });
  });
}

/** What Node's parser found wrong with a request it refused before the app saw it. */
const CLIENT_ERRORS: Record<string, [ErrorCode, string]> = {
  HPE_HEADER_OVERFLOW: ['headers_too_large', 'The request line and headers are over 16 KiB'],
  ERR_HTTP_REQUEST_TIMEOUT: ['request_timeout', 'The request did not arrive in time: its headers within 10 s, all of it within 30 s'],
};

/**
 * Requests that Node refuses before Express sees them (headers over 16 KiB,
 * bytes that are not HTTP/1.1, a request sent too slowly) are answered in the
 * API's JSON error shape, as everything else is, not with a bare status line.
 */
export function answerClientErrors(server: Server): void {
  server.on('clientError', (error: NodeJS.ErrnoException, socket: Duplex) => {
    // A response already under way on this connection cannot be followed by another.
    const answering = (socket as Duplex & { _httpMessage?: { headersSent?: boolean } })._httpMessage?.headersSent === true;
    if (error.code === 'ECONNRESET' || !socket.writable || answering) {
      socket.destroy();
      return;
    }
    const [code, message] = CLIENT_ERRORS[error.code ?? ''] ?? ['invalid_request', 'The request is not valid HTTP/1.1'];
    // Written, then destroyed at once, as Node does: the request goes no further (a late body never reaches the app),
    // and the connection is freed even if the client never closes its side.
    socket.write(rawError(code, message));
    socket.destroy();
  });
}

/** An `Expect` other than `100-continue`, which Node would refuse with a bare 417: refused in the API's shape, and nothing run. */
export function refuseExpectations(server: Server): void {
  server.on('checkExpectation', (req: IncomingMessage, res: ServerResponse) => {
    const body = envelope('invalid_request', `Expect: ${JSON.stringify(req.headers.expect)} is not supported; only 100-continue is`);
    res
      .writeHead(statusOf('invalid_request'), { 'Content-Type': 'application/json; charset=utf-8', 'Content-Length': Buffer.byteLength(body), Connection: 'close' })
      .end(body);
  });
}
