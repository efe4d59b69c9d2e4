/**
 * The server under test, in its own process: createServer with a fresh
 * temporary SQLite file, the demo agent at 0 ms pacing, and the bench agent.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type BambooServer, createServer } from '../../src/server.js';
import { BENCH_AGENT, createBenchAgent } from '../lib/bench-agent.js';
import { serve } from '../lib/serve.js';

let server: BambooServer | undefined;
let dir: string | undefined;

const api = {
  async start(): Promise<{ url: string }> {
    dir = mkdtempSync(join(tmpdir(), 'bamboo-bench-'));
    server = await createServer({ dbPath: join(dir, 'bamboo.db'), port: 0, host: '127.0.0.1', tokenDelayMs: 0, agents: { [BENCH_AGENT]: createBenchAgent() } });
    return { url: server.url };
  },
  async memory(): Promise<NodeJS.MemoryUsage> {
    return process.memoryUsage();
  },
};
export type BambooServerApi = typeof api;

serve(api, async () => {
  await server?.close();
  if (dir) rmSync(dir, { recursive: true, force: true });
});
