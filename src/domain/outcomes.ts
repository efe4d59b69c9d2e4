/**
 * What a command did, in one vocabulary shared by the machine, the runtime
 * and HTTP. `resume` yields exactly one of NotFound, Completed,
 * AlreadyRunning, Started; `cancel` yields Cancelled.
 */
export type Outcome =
  | { outcome: 'NotFound' }
  /** Nothing to do: no pending work (or a question waits for its answer). */
  | { outcome: 'Completed' }
  | { outcome: 'AlreadyRunning'; run_id: string }
  /** `events_after`: the last `seq` before the run; a stream opened after it misses nothing. */
  | { outcome: 'Started'; run_id: string; events_after: number }
  | { outcome: 'Cancelled'; run_id: string }
  /** The message waits its turn: `position` counts from 1. */
  | { outcome: 'Queued'; position: number };

export type OutcomeName = Outcome['outcome'];
export type OutcomeOf<N extends OutcomeName> = Extract<Outcome, { outcome: N }>;

export type ResumeOutcome = OutcomeOf<'NotFound' | 'Completed' | 'AlreadyRunning' | 'Started'>;

/** An answer to the open question starts a run; the same answer again is a harmless replay. */
export type RespondOutcome = (OutcomeOf<'Started'> & { replayed: false }) | (OutcomeOf<'AlreadyRunning' | 'Completed'> & { replayed: true });

/** A user message, with the run it started, or its place in the queue (neither with `resume: false`). */
export type AppendOutcome<M> = { message: M } & (OutcomeOf<'Started' | 'Queued'> | { outcome: null });

/** An outcome as the session machine decides it; the runtime adds where the run's events start. */
export type Decided<O extends Outcome = Outcome> = O extends { events_after: number } ? Omit<O, 'events_after'> : O;
