/**
 * The front door, through a real server: a Host allow-list against DNS
 * rebinding, no state-changing request from another site, CORS for listed
 * origins only, and a server that will not start exposed.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { createServer, UnsafeConfiguration } from '../../src/server.js';
import { API, cleanup, createSession, getSession, startServer } from './helpers.js';
import { rawRequest } from './raw-http.js';

afterEach(cleanup);

describe('Host allow-list', () => {
  it('refuses a Host that is not a loopback name, HOST or listed with 421 host_not_allowed, before anything runs', async () => {
    const server = await startServer();
    const session = await createSession(server);
    for (const host of ['evil.example', 'evil.example:3000', 'rebind.attacker.test', 'localhost.evil.example']) {
      const reply = await rawRequest(server.url, 'GET', `${API}/sessions`, { Host: host });
      expect(reply.status, host).toBe(421);
      expect(reply.body.error.code).toBe('host_not_allowed');
      const deleted = await rawRequest(server.url, 'DELETE', `${API}/sessions/${session.id}`, { Host: host });
      expect(deleted.status).toBe(421);
    }
    expect(await getSession(server, session.id)).toMatchObject({ id: session.id });
    // Loopback names and addresses pass: an address cannot be rebound.
    for (const host of ['localhost', `localhost:${server.server.port}`, '127.0.0.1', `[::1]:${server.server.port}`, '10.1.2.3']) {
      expect((await rawRequest(server.url, 'GET', `${API}/sessions`, { Host: host })).status, host).toBe(200);
    }
  });

  it('serves the names in BAMBOO_ALLOWED_HOSTS, and any with *', async () => {
    const listed = await startServer({ access: { allowedHosts: ['api.example.com'] } });
    expect((await rawRequest(listed.url, 'GET', '/healthz', { Host: 'api.example.com:8443' })).status).toBe(200);
    expect((await rawRequest(listed.url, 'GET', '/healthz', { Host: 'other.example.com' })).status).toBe(421);
    const open = await startServer({ access: { allowedHosts: '*' } });
    expect((await rawRequest(open.url, 'GET', '/healthz', { Host: 'anything.example' })).status).toBe(200);
  });
});

describe('cross-site requests', () => {
  it('refuses any non-GET request from another origin with 403 origin_not_allowed, whatever its body, and changes nothing', async () => {
    const server = await startServer({ tokenDelayMs: 50 });
    const session = await createSession(server);
    const evil = { Origin: 'http://evil.example' };
    const attempts = [
      await server.call('POST', `${API}/sessions`, { headers: { ...evil, 'Content-Type': 'text/plain', 'Content-Length': '0' } }),
      await server.call('POST', `${API}/sessions`, { raw: '{}', headers: { ...evil, 'Content-Type': 'application/json' } }),
      await server.call('POST', `${API}/sessions/${session.id}/messages`, { raw: 'content=hi', headers: { ...evil, 'Content-Type': 'text/plain' } }),
      await server.call('POST', `${API}/sessions/${session.id}/cancel`, { headers: evil }),
      await server.call('DELETE', `${API}/sessions/${session.id}`, { headers: { Origin: 'null' } }),
    ];
    for (const reply of attempts) {
      expect(reply.status, reply.text).toBe(403);
      expect(reply.body.error.code).toBe('origin_not_allowed');
    }
    expect(await getSession(server, session.id)).toMatchObject({ version: 1, message_count: 0 });
    const listed = await server.call('GET', `${API}/sessions`);
    expect(listed.body.sessions).toHaveLength(1);
  });

  it("accepts the server's own origin, requests without Origin, and reads from anywhere (without CORS headers)", async () => {
    const server = await startServer();
    const own = await server.call('POST', `${API}/sessions`, { json: {}, headers: { Origin: server.url } });
    expect(own.status).toBe(201);
    const bare = await server.call('POST', `${API}/sessions`, { headers: { 'Content-Length': '0' } });
    expect(bare.status).toBe(201);
    const read = await server.call('GET', `${API}/sessions`, { headers: { Origin: 'http://evil.example' } });
    expect(read.status).toBe(200);
    expect(read.headers.get('access-control-allow-origin')).toBeNull();
    // A body that is not JSON is still refused from anywhere.
    const text = await server.call('POST', `${API}/sessions`, { raw: 'x', headers: { 'Content-Type': 'text/plain' } });
    expect(text.status).toBe(415);
  });

  it('gives listed origins CORS: preflight answered with the allowed headers, responses readable', async () => {
    const app = 'https://app.example.com';
    const server = await startServer({ access: { corsOrigins: [app] } });
    const preflight = await server.call('OPTIONS', `${API}/sessions`, {
      headers: { Origin: app, 'Access-Control-Request-Method': 'POST', 'Access-Control-Request-Headers': 'authorization, idempotency-key, content-type' },
    });
    expect(preflight.status).toBe(204);
    expect(preflight.headers.get('access-control-allow-origin')).toBe(app);
    expect(preflight.headers.get('access-control-allow-methods')).toContain('POST');
    const allowed = preflight.headers.get('access-control-allow-headers')!.toLowerCase();
    for (const header of ['authorization', 'idempotency-key', 'last-event-id', 'x-api-key', 'content-type']) expect(allowed).toContain(header);

    const created = await server.call('POST', `${API}/sessions`, { json: {}, headers: { Origin: app } });
    expect(created.status).toBe(201);
    expect(created.headers.get('access-control-allow-origin')).toBe(app);
    expect(created.headers.get('access-control-expose-headers')).toContain('ETag');
    // An unlisted origin's preflight gets no grant.
    const other = await server.call('OPTIONS', `${API}/sessions`, { headers: { Origin: 'http://evil.example', 'Access-Control-Request-Method': 'POST' } });
    expect(other.headers.get('access-control-allow-origin')).toBeNull();
    expect([other.status, other.body.error.code]).toEqual([403, 'origin_not_allowed']);
  });

  it("refuses an unlisted origin's preflight as such, also when API keys exist", async () => {
    const server = await startServer({ access: { apiKeys: [{ tenant: 'acme', key: 'k'.repeat(24) }] } });
    const preflight = await server.call('OPTIONS', `${API}/sessions`, { headers: { Origin: 'http://evil.example', 'Access-Control-Request-Method': 'POST' } });
    expect([preflight.status, preflight.body.error.code]).toEqual([403, 'origin_not_allowed']);
    expect(preflight.headers.get('access-control-allow-origin')).toBeNull();
  });
});

describe('start-up refusals', () => {
  it('will not listen beyond loopback without an API key, unless told to', async () => {
    await expect(createServer({ port: 0, host: '0.0.0.0', dbPath: ':memory:' })).rejects.toThrow(UnsafeConfiguration);
    await expect(createServer({ port: 0, host: '0.0.0.0', dbPath: ':memory:' })).rejects.toThrow(/BAMBOO_API_KEYS/);
    const keyed = await startServer({ host: '0.0.0.0', access: { apiKeys: [{ tenant: 'acme', key: 'k'.repeat(24) }] } });
    expect(keyed.server.port).toBeGreaterThan(0);
    const optedOut = await startServer({ host: '0.0.0.0', access: { allowUnauthenticated: true } });
    expect(optedOut.server.port).toBeGreaterThan(0);
  });

  it('will not show the inspector (every tenant) when API keys exist, unless told to', async () => {
    const inspector = { inspect: { next: () => undefined } };
    const keys = [{ tenant: 'acme', key: 'k'.repeat(24) }];
    await expect(createServer({ port: 0, dbPath: ':memory:', inspector, access: { apiKeys: keys } })).rejects.toThrow(/BAMBOO_INSPECT_ALLOW_WITH_KEYS/);
    const allowed = await startServer({ inspector, access: { apiKeys: keys, inspectorWithKeys: true } });
    expect(allowed.server.port).toBeGreaterThan(0);
  });
});
