/**
 * How the log is laid out in SQLite: one row per commit, keyed by the last
 * event's `seq`, holding the JSON of each of its events on a line of its own
 * (JSON text never contains a raw newline). A commit is then one insert
 * however many events it carries; a row of one event is its JSON alone, as
 * every row was before schema version 8.
 */
import type { SessionEvent } from '../../domain/events.js';

export interface EventRow {
  /** The `seq` of the row's last event; the others precede it without gaps. */
  seq: number;
  data: string;
}

/** The row for one commit's events (numbered without gaps) and their JSON, in order. */
export function eventRow(events: readonly SessionEvent[], texts: readonly string[]): EventRow {
  const first = events[0]!.seq;
  const last = events.at(-1)!.seq;
  if (last - first !== events.length - 1) throw new Error(`A commit's events must be numbered without gaps (${first}…${last} for ${events.length})`);
  return { seq: last, data: texts.length === 1 ? texts[0]! : texts.join('\n') };
}

/** The JSON of every event after `after`, in order, from the rows whose `seq` is above it (read lazily). */
export function* eventTexts(rows: Iterable<EventRow>, after: number): Generator<string> {
  for (const { seq, data } of rows) {
    if (!data.includes('\n')) {
      yield data;
      continue;
    }
    const lines = data.split('\n');
    // The row ends at `seq`: the first `lines.length - (seq - after)` of its events were delivered before.
    for (let i = Math.max(0, lines.length - (seq - after)); i < lines.length; i++) yield lines[i]!;
  }
}
