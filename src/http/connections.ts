/**
 * Connections a single client address may hold open. Past it, a new connection
 * is answered `503` (as JSON) and closed, so one client cannot take every file
 * descriptor from the others (health checks included).
 */
import type { Server } from 'node:http';

export function limitConnectionsPerClient(server: Server, max: number): void {
  if (max <= 0) return;
  const open = new Map<string, number>();
  const body = JSON.stringify({ error: { code: 'unavailable', message: `This client address already has ${max} open connections; close some first` } });
  const refusal = `HTTP/1.1 503 Service Unavailable\r\nContent-Type: application/json\r\nRetry-After: 5\r\nConnection: close\r\nContent-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`;
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
