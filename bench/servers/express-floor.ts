/**
 * The HTTP floor: bare Express 5 with no middleware. `POST /resume` answers a
 * small JSON, like Bamboo's resume with nothing to do. `GET /events` holds SSE
 * streams and `POST /fire?n=` writes n token frames shaped like Bamboo's to
 * every stream, yielding to the event loop between tokens as a paced run does,
 * then a `run_completed` frame.
 */
import { once } from 'node:events';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import express, { type Response } from 'express';
import { serve } from '../lib/serve.js';
import { wallClockMs } from '../lib/stats.js';

let server: Server | undefined;
const streams = new Set<Response>();

function frame(seq: number, type: string, fields: Record<string, unknown>): string {
  const json = JSON.stringify({ seq, type, session_id: 'ses_floor', run_id: 'run_floor', at: new Date().toISOString(), ...fields });
  return `id: ${seq}\nevent: ${type}\ndata: ${json}\n\n`;
}

const app = express();
app.post('/resume', (_req, res) => {
  res.json({ outcome: 'Completed' });
});
app.get('/events', (req, res) => {
  res.writeHead(200, { 'Content-Type': 'text/event-stream; charset=utf-8', 'Cache-Control': 'no-cache' });
  res.flushHeaders();
  streams.add(res);
  req.on('close', () => streams.delete(res));
});
app.post('/fire', async (req, res) => {
  const count = Number(req.query.n);
  res.json({ streams: streams.size });
  for (let seq = 1; seq <= count; seq++) {
    const data = frame(seq, 'token', { text: `${wallClockMs().toFixed(3)} ` });
    for (const stream of streams) stream.write(data);
    await new Promise((resolve) => setImmediate(resolve));
  }
  const done = frame(count + 1, 'run_completed', {});
  for (const stream of streams) stream.write(done);
});

const api = {
  async start(): Promise<{ url: string }> {
    server = app.listen(0, '127.0.0.1');
    await once(server, 'listening');
    return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}` };
  },
};
export type ExpressFloorApi = typeof api;

serve(api, async () => {
  for (const stream of streams) stream.end();
  server?.closeAllConnections();
  server?.close();
});
