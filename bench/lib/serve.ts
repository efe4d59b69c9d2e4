/**
 * Child side of the process model: answers the parent's calls with the
 * methods of `api`, and exits on request (after `cleanup`) or when the parent
 * goes away.
 */
import type { Api } from './child.js';

interface Call {
  id: number;
  method: string;
  arg: unknown;
}

export function serve(api: Api, cleanup?: () => Promise<void>): void {
  if (!process.send) throw new Error('A bench worker must be started by bench/run.ts (it needs an IPC channel)');
  const send = (message: unknown) => process.send?.(message);
  const exit = async () => {
    try {
      await cleanup?.();
    } finally {
      process.exit(0);
    }
  };
  process.on('message', async (message) => {
    const { id, method, arg } = message as Call;
    if (method === '__exit') return exit();
    try {
      const handler = api[method] as ((arg: unknown) => unknown) | undefined;
      if (!handler) throw new Error(`No method ${method}`);
      send({ id, ok: true, result: await handler(arg) });
    } catch (error) {
      send({ id, ok: false, error: error instanceof Error ? (error.stack ?? error.message) : String(error) });
    }
  });
  process.on('disconnect', () => void exit());
}
