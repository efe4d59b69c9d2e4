/**
 * The published package as a consumer gets it: `npm pack` (which builds
 * dist/), installed into a fresh TypeScript project that type-checks against
 * its declarations with `skipLibCheck: false`, so a type the declarations
 * need but the package does not depend on fails here (TS7016, TS2307); the
 * README's library examples are type-checked there too. Its `bamboo-server`
 * command runs from the compiled dist/.
 */
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ROOT } from './run.js';

const run = promisify(execFile);
const npm = process.platform === 'win32' ? 'npm.cmd' : 'npm';

const CONSUMER = `import { createDemoAgent, createServer, type AccessSettings, type Agent, type ResourceLimits, type ServerOptions } from 'bamboo-server';
import type { AccessOptions, AppOptions, FrontDoorOptions, ResponseBudget, StreamLimits } from 'bamboo-server';

const shout: Agent = {
  async run({ messages, emit }) {
    const text = (messages.at(-1)?.content ?? '').toUpperCase();
    await emit({ type: 'token', text });
    return { kind: 'completed', message: text };
  },
};

// Every field's type of the options can be named by a caller.
const access: AccessSettings = { allowedHosts: ['bamboo.internal'] };
const limits: ResourceLimits = { maxStreams: 100 };
const options: ServerOptions = { agents: { shout, quick: createDemoAgent({ tokenDelayMs: 0 }) }, defaultAgent: 'shout', port: 0, access, limits };
const appParts: [AccessOptions?, ResponseBudget?, FrontDoorOptions?, StreamLimits?, AppOptions['webhooks']?] = [];
void appParts;
const server = await createServer(options);
const url: string = server.url;
server.app.get('/hello', (_req, res) => res.send(url));
await server.close();
`;

/**
 * The README's TypeScript examples that use the package, each as a module of
 * the consumer, so an example that no longer compiles (a renamed export, a
 * name it never defines) fails here as it would for a reader who copies it.
 */
const README_EXAMPLES = [...readFileSync(join(ROOT, 'README.md'), 'utf8').matchAll(/```ts\n([\s\S]*?)```/g)]
  .map(([, code]) => code!)
  .filter((code) => code.includes("from 'bamboo-server'"));

let dir: string;
let tarball: string;
let files: string[];

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'bamboo-pack-'));
  const packed = await run(npm, ['pack', '--json', '--pack-destination', dir], { cwd: ROOT, maxBuffer: 64 * 1024 * 1024 });
  const [info] = JSON.parse(packed.stdout.slice(packed.stdout.indexOf('['))) as { filename: string; files: { path: string }[] }[];
  tarball = join(dir, info!.filename);
  files = info!.files.map((file) => file.path);

  const consumer = join(dir, 'consumer');
  await run('mkdir', ['-p', consumer]);
  writeFileSync(join(consumer, 'package.json'), JSON.stringify({ name: 'consumer', private: true, type: 'module' }));
  writeFileSync(
    join(consumer, 'tsconfig.json'),
    JSON.stringify({
      compilerOptions: { target: 'ES2022', module: 'NodeNext', moduleResolution: 'NodeNext', strict: true, skipLibCheck: false, noEmit: true },
      files: ['index.ts', ...README_EXAMPLES.map((_, i) => `readme-${i + 1}.ts`)],
    }),
  );
  writeFileSync(join(consumer, 'index.ts'), CONSUMER);
  README_EXAMPLES.forEach((code, i) => writeFileSync(join(consumer, `readme-${i + 1}.ts`), code));
  const typescript = (JSON.parse(readFileSync(join(ROOT, 'node_modules/typescript/package.json'), 'utf8')) as { version: string }).version;
  // Scripts are not needed to type-check or to print help, and would compile better-sqlite3 again.
  await run(npm, ['install', '--prefer-offline', '--no-audit', '--no-fund', '--ignore-scripts', tarball, `typescript@${typescript}`], {
    cwd: consumer,
    maxBuffer: 64 * 1024 * 1024,
  });
}, 240_000);

afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('the npm package', () => {
  it('ships the compiled code, its declarations, the console assets and the licence; no tests', () => {
    for (const file of ['dist/src/index.js', 'dist/src/index.d.ts', 'dist/src/cli/main.js', 'src/http/console/index.html', 'LICENSE', 'CHANGELOG.md', 'README.md']) {
      expect(files).toContain(file);
    }
    expect(files.filter((file) => file.startsWith('test/') || file.startsWith('bench/'))).toEqual([]);
  });

  it("type-checks a consumer with skipLibCheck: false, and the README's examples as written", async () => {
    // The library examples: openStore, your own tools, your own agent, inside your own Express app.
    expect(README_EXAMPLES.length).toBeGreaterThanOrEqual(4);
    const consumer = join(dir, 'consumer');
    const checked = await run(join(consumer, 'node_modules/.bin/tsc'), ['-p', '.'], { cwd: consumer }).catch((error: { stdout: string }) => error);
    expect(checked.stdout).toBe('');
  }, 120_000);

  it('installs a working bamboo-server command', async () => {
    const consumer = join(dir, 'consumer');
    const bin = join(consumer, 'node_modules/.bin/bamboo-server');
    const version = (JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { version: string }).version;
    expect((await run(bin, ['--version'], { cwd: consumer })).stdout).toBe(`${version}\n`);
    expect((await run(bin, ['--help'], { cwd: consumer })).stdout).toContain('BAMBOO_DB');
    expect(readFileSync(bin, 'utf8').split('\n')[0]).toBe('#!/usr/bin/env node');
  });

  it("builds a command that runs by its own path, as npx runs a clone's", async () => {
    // `npm pack` built dist/ again; `npx bamboo-server` in a clone runs this file itself, not a copy npm made executable.
    const version = (JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { version: string }).version;
    expect((await run(join(ROOT, 'dist/src/cli/main.js'), ['--version'], { cwd: ROOT })).stdout).toBe(`${version}\n`);
  });
});
