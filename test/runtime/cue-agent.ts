/** A test agent that streams when the test says so: for runs cut off mid-stream. */
import type { Agent } from '../../src/agents/agent.js';

/** An agent whose first run streams a token when told to; later runs answer at once. */
export function tokenOnCue(): { agent: Agent; runs: AbortSignal[]; streamToken: () => void } {
  let cue: () => void = () => undefined;
  const runs: AbortSignal[] = [];
  const agent: Agent = {
    async run({ emit, signal }) {
      runs.push(signal);
      if (runs.length === 1) {
        await new Promise<void>((resolve) => (cue = resolve));
        await emit({ type: 'token', text: 'lost' });
      }
      return { kind: 'completed', message: `run ${runs.length}` };
    },
  };
  return { agent, runs, streamToken: () => cue() };
}
