/** How long and how often each scenario runs: the full set, or the quick smoke run. */
export interface Settings {
  quick: boolean;
  /** Repeated runs per figure; the table shows the median. */
  runs: number;
  s1: { connections: number; durationS: number; warmUpS: number };
  /** `abandonAfterMs`: a turn without progress for this long is counted apart (see turn-http.ts); also used by 7 and 8. */
  s2: { clients: number[]; durationMs: number; abandonAfterMs: number };
  s3: { concurrency: number[]; durationMs: number; warmUpMs: number };
  s4: { sessions: number[]; tokensPerCase: number };
  /** Cases with at least `oneRunFrom` subscribers run once: a million deliveries take tens of seconds. */
  s5: { subscribers: number[]; tokens: number; oneRunFrom: number };
  s6: { heapActors: number[]; storedSessions: number[]; active: number; resumes: number };
  /** PostgreSQL; its HITL turns use s2's clients and duration, its resumes s1's load, its SSE s5's tokens. */
  s7: { sseSubscribers: number[]; roundTripTurns: number };
  /** The crowd: `readers` include one per firehose session; HITL turns use s2's `abandonAfterMs`. */
  s8: {
    readers: number;
    nonReaders: number;
    firehoseSessions: number;
    firehose: { everyMs: number; bytes: number };
    steadySessions: number;
    steadyEveryMs: number;
    hitlClients: number;
    durationMs: number;
    /** After the turns beside the crowd, how long to wait for the server to cut every non-reader. */
    cutWaitMs: number;
    rssBudgetMb: number;
  };
}

const CROWD = {
  readers: 900,
  nonReaders: 100,
  firehoseSessions: 4,
  firehose: { everyMs: 20, bytes: 32_768 },
  steadySessions: 8,
  steadyEveryMs: 100,
  hitlClients: 10,
  rssBudgetMb: 300,
};

export function settings(quick: boolean, runs?: number): Settings {
  if (quick) {
    return {
      quick,
      runs: runs ?? 1,
      s1: { connections: 100, durationS: 1, warmUpS: 0 },
      s2: { clients: [1, 100], durationMs: 1000, abandonAfterMs: 2000 },
      s3: { concurrency: [1, 100], durationMs: 500, warmUpMs: 200 },
      s4: { sessions: [1, 10, 100], tokensPerCase: 1000 },
      s5: { subscribers: [1, 100, 1000], tokens: 100, oneRunFrom: 1000 },
      s6: { heapActors: [1000, 5000], storedSessions: [1000, 10_000], active: 100, resumes: 300 },
      s7: { sseSubscribers: [1, 100], roundTripTurns: 5 },
      s8: { ...CROWD, durationMs: 2000, cutWaitMs: 8000 },
    };
  }
  return {
    quick,
    runs: runs ?? 3,
    s1: { connections: 100, durationS: 10, warmUpS: 2 },
    s2: { clients: [1, 100], durationMs: 5000, abandonAfterMs: 5000 },
    s3: { concurrency: [1, 100], durationMs: 3000, warmUpMs: 1000 },
    s4: { sessions: [1, 10, 100], tokensPerCase: 20_000 },
    s5: { subscribers: [1, 100, 1000], tokens: 1000, oneRunFrom: 1000 },
    s6: { heapActors: [10_000, 100_000], storedSessions: [1000, 100_000, 1_000_000], active: 1000, resumes: 2000 },
    s7: { sseSubscribers: [1, 100], roundTripTurns: 21 },
    // A non-reader is cut once its kernel buffers are full (on loopback they may grow to tens of MB) and then its share of the budget: give it time.
    s8: { ...CROWD, durationMs: 5000, cutWaitMs: 30_000 },
  };
}
