/**
 * Parent side of the benchmark's process model: every server under test, load
 * generator and in-process scenario runs in its own Node process (with an IPC
 * channel), so heaps, GC pauses and event loops never mix. Children run the
 * JavaScript compiled from bench/ (see `build` in run.ts) on plain Node, as
 * the installed `bamboo-server` command runs: tsx's loader, which `npm start`
 * adds, keeps a thread of its own (about 40 MB of RSS) that no deployed
 * server has. A child exposes
 * an API object (see `serve`); the parent calls its methods by name.
 */
import { type ChildProcess, fork } from 'node:child_process';
import { basename, dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

export const BENCH_DIR = resolve(dirname(fileURLToPath(import.meta.url)), '..');
/** Where bench/'s servers and workers are compiled to (`tsconfig.bench.json`). */
export const COMPILED_DIR = resolve(BENCH_DIR, '..', 'dist-bench');

// `never` parameters accept any handler signature; calls are typed through `Child<Api>`.
export type Api = Record<string, (arg: never) => unknown>;

interface Reply {
  id: number;
  ok: boolean;
  result?: unknown;
  error?: string;
}

export interface ChildOptions {
  /** Extra Node flags, e.g. `--expose-gc`. */
  nodeArgs?: string[];
  /** Names the child's CPU profile folder; defaults to the file's name. */
  label?: string;
  /** A file descriptor the child's stdout goes to (as `> file` would); default: the parent's stdout. */
  stdout?: number;
}

let profileDir: string | undefined;
let started = 0;

/** Every child started from now on writes V8 CPU profiles into `dir/<label>-<n>/`. */
export function profileChildren(dir: string): void {
  profileDir = dir;
}

export class Child<A extends Api> {
  private nextId = 1;
  private readonly pending = new Map<number, { resolve: (value: unknown) => void; reject: (error: Error) => void }>();
  private readonly exited: Promise<void>;

  private constructor(
    readonly name: string,
    private readonly proc: ChildProcess,
  ) {
    proc.on('message', (message) => {
      const reply = message as Reply;
      const waiter = this.pending.get(reply.id);
      if (!waiter) return;
      this.pending.delete(reply.id);
      if (reply.ok) waiter.resolve(reply.result);
      else waiter.reject(new Error(`${name}: ${reply.error}`));
    });
    this.exited = new Promise((done) =>
      proc.once('exit', (code, signal) => {
        for (const waiter of this.pending.values()) waiter.reject(new Error(`${name} exited (${signal ?? code}) before answering`));
        this.pending.clear();
        done();
      }),
    );
  }

  /** Starts `file` (relative to bench/, compiled) in a new process. */
  static start<A extends Api>(file: string, options: ChildOptions = {}): Child<A> {
    const label = `${options.label ?? basename(file, '.ts')}-${++started}`;
    const profile = profileDir ? ['--cpu-prof', `--cpu-prof-dir=${join(profileDir, label)}`] : [];
    const proc = fork(resolve(COMPILED_DIR, file.replace(/\.ts$/, '.js')), [], {
      execArgv: [...profile, ...(options.nodeArgs ?? [])],
      stdio: ['ignore', options.stdout ?? 'inherit', 'inherit', 'ipc'],
    });
    return new Child<A>(file, proc);
  }

  get pid(): number | undefined {
    return this.proc.pid;
  }

  call<K extends keyof A & string>(method: K, ...arg: Parameters<A[K]>): Promise<Awaited<ReturnType<A[K]>>> {
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      if (!this.proc.connected) return reject(new Error(`${this.name} is not running`));
      this.pending.set(id, { resolve: resolve as (value: unknown) => void, reject });
      this.proc.send({ id, method, arg: arg[0] });
    });
  }

  /** Asks the child to clean up and exit; kills it if it does not within 15 s. */
  async stop(): Promise<void> {
    if (this.proc.exitCode !== null || this.proc.signalCode !== null) return;
    const timer = setTimeout(() => this.proc.kill('SIGKILL'), 15_000);
    if (this.proc.connected) this.proc.send({ id: 0, method: '__exit' });
    else this.proc.kill('SIGTERM');
    await this.exited;
    clearTimeout(timer);
  }
}

/** Starts a child, makes one call, stops it. */
export async function inChild<A extends Api, K extends keyof A & string>(
  file: string,
  method: K,
  arg: Parameters<A[K]>[0],
  options: ChildOptions = {},
): Promise<Awaited<ReturnType<A[K]>>> {
  const child = Child.start<A>(file, options);
  try {
    return await child.call(method, ...([arg] as Parameters<A[K]>));
  } finally {
    await child.stop();
  }
}

/** Starts several children and stops them all after `use`, whatever happens. */
export async function withChildren<T>(children: Child<Api>[], use: () => Promise<T>): Promise<T> {
  try {
    return await use();
  } finally {
    await Promise.all(children.map((child) => child.stop()));
  }
}
