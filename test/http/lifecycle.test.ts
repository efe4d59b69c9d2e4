/** Shutdown: a request in flight finishes; a new one on a kept-alive connection is refused, not let reach a closing store. */
import { once } from 'node:events';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import express from 'express';
import { afterEach, describe, expect, it } from 'vitest';
import { Lifecycle } from '../../src/http/lifecycle.js';

let server: http.Server | undefined;
afterEach(() => {
  server?.closeAllConnections();
  server?.close();
});

function get(agent: http.Agent, port: number, path: string): Promise<{ status: number; headers: http.IncomingHttpHeaders; body: string }> {
  return new Promise((resolve, reject) => {
    http
      .get({ host: '127.0.0.1', port, path, agent }, (res) => {
        let body = '';
        res.setEncoding('utf8').on('data', (chunk: string) => (body += chunk));
        res.on('end', () => resolve({ status: res.statusCode!, headers: res.headers, body }));
      })
      .on('error', reject);
  });
}

describe('Lifecycle', () => {
  it('lets the request in flight finish and refuses the next one on the same connection with 503 unavailable', async () => {
    const lifecycle = new Lifecycle();
    let release: () => void = () => undefined;
    let arrived: () => void = () => undefined;
    const inFlight = new Promise<void>((resolve) => (arrived = resolve));
    const app = express();
    app.use(lifecycle.track);
    app.get('/slow', (_req, res) => {
      release = () => res.json({ done: true });
      arrived();
    });
    app.get('/fast', (_req, res) => void res.json({ done: true }));
    server = app.listen(0, '127.0.0.1');
    await once(server, 'listening');
    const { port } = server.address() as AddressInfo;
    const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });

    expect((await get(agent, port, '/fast')).status).toBe(200);
    const slow = get(agent, port, '/slow');
    await inFlight;
    const drained = lifecycle.drain(5_000);
    release();
    expect(await slow).toMatchObject({ status: 200, body: '{"done":true}' });
    expect(await drained).toBe(0);

    const refused = await get(agent, port, '/fast');
    expect(refused.status).toBe(503);
    expect(refused.headers.connection).toBe('close');
    expect(JSON.parse(refused.body)).toMatchObject({ error: { code: 'unavailable' } });
    agent.destroy();
  });
});
