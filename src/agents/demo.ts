/**
 * The offline, deterministic demo agent. Its commands are part of the API
 * contract: `/ask`, `/sleep`, `/fail`, and echo for anything else.
 */
import type { Agent, RunContext, RunResult } from './agent.js';
import { sleep } from './agent.js';

export interface DemoAgentOptions {
  /** Pause between streamed tokens, in ms. Default `DEMO_TOKEN_DELAY_MS`. */
  tokenDelayMs?: number;
}

export const DEMO_TOKEN_DELAY_MS = 20;

export function createDemoAgent({ tokenDelayMs = DEMO_TOKEN_DELAY_MS }: DemoAgentOptions = {}): Agent {
  async function stream(ctx: RunContext, reply: string): Promise<RunResult> {
    // One token per word, each carrying the whitespace after it.
    const tokens = reply.match(/\S+\s*|\s+/g) ?? [];
    for (const [i, text] of tokens.entries()) {
      if (i > 0 && tokenDelayMs > 0) await sleep(tokenDelayMs, ctx.signal);
      void ctx.emit({ type: 'token', text });
    }
    return { kind: 'completed', message: reply };
  }

  return {
    async run(ctx) {
      const last = ctx.messages.at(-1);
      if (!last) return stream(ctx, 'Echo: ');
      if (last.role === 'tool') return stream(ctx, `You answered: ${last.content}`);

      const text = last.content;
      const command = /^\/(ask|sleep|fail)(?:\s+([\s\S]*))?$/.exec(text.trim());
      switch (command?.[1]) {
        case 'ask': {
          const [question = '', ...options] = (command[2] ?? '').split('|').map((part) => part.trim());
          const choices = options.filter((option) => option.length > 0);
          return choices.length > 0
            ? { kind: 'awaitingUser', question: { text: question, options: choices, allow_custom: false } }
            : { kind: 'awaitingUser', question: { text: question, allow_custom: true } };
        }
        case 'sleep': {
          const ms = Math.max(0, Math.floor(Number(command[2]) || 0));
          await sleep(ms, ctx.signal);
          return stream(ctx, `Slept ${ms} ms`);
        }
        case 'fail':
          throw new Error(command[2]?.trim() || 'failed');
        default:
          return stream(ctx, `Echo: ${text}`);
      }
    },
  };
}
