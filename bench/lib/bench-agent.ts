/**
 * The agent behind the ingest and fan-out scenarios. `/tokens N [await|burst]`
 * emits N `token` events, each text a wall-clock timestamp (ms, 3 decimals)
 * plus a space, so a receiver can tell how long a token took from the agent
 * to it. `await` waits for each token to be stored before the next (a paced,
 * durable stream); `burst` emits them all at once and lets the runtime batch.
 */
import type { Agent } from '../../src/agents/agent.js';
import { wallClockMs } from './stats.js';

export const BENCH_AGENT = 'bench';

export function tokensCommand(count: number, mode: 'await' | 'burst'): string {
  return `/tokens ${count} ${mode}`;
}

/** The timestamp a token text carries, or NaN. */
export function tokenStamp(text: string): number {
  return Number.parseFloat(text);
}

export function createBenchAgent(): Agent {
  return {
    async run(ctx) {
      const command = /^\/tokens (\d+) (await|burst)$/.exec(ctx.messages.at(-1)?.content ?? '');
      if (!command) throw new Error(`The bench agent expects "/tokens N await|burst"`);
      const count = Number(command[1]);
      const paced = command[2] === 'await';
      let reply = '';
      for (let i = 0; i < count; i++) {
        const text = `${wallClockMs().toFixed(3)} `;
        reply += text;
        const stored = ctx.emit({ type: 'token', text });
        if (paced) await stored;
      }
      return { kind: 'completed', message: reply };
    },
  };
}
