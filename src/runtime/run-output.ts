/**
 * What the run executing here has produced so far, followed from the events it
 * records: what an interrupt keeps (its reply so far) and a rollback removes
 * (its messages).
 */
import type { LogEvent } from '../domain/events.js';
import { isRunEnding } from '../domain/events.js';

export interface RunOutput {
  runId: string;
  /** The reply streamed since the run's last message, from its tokens. */
  text: string;
  /** The messages the run appended. */
  messageIds: string[];
}

/** A reply kept for an interrupt is bounded: tokens past this are not kept. */
const MAX_PARTIAL_CHARS = 1_000_000;

export class RunOutputTracker {
  private output: RunOutput | null = null;

  /** The output of run `runId`, if it is the one followed. */
  of(runId: string | null): RunOutput | null {
    return this.output && this.output.runId === runId ? this.output : null;
  }

  /** Needed only while the run lasts: an ending forgets it. */
  track(event: LogEvent): void {
    if (event.type === 'run_started') {
      this.output = { runId: event.run_id, text: '', messageIds: [] };
      return;
    }
    const output = this.output;
    if (!output || !('run_id' in event) || event.run_id !== output.runId) return;
    if (isRunEnding(event)) this.output = null;
    else if (event.type === 'token' && output.text.length < MAX_PARTIAL_CHARS) output.text += event.text;
    else if (event.type === 'message_appended') {
      output.messageIds.push(event.message.id);
      output.text = '';
    }
  }
}
