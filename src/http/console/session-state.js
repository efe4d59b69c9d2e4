// The one state object of the selected session. Everything that shows the session's state (list badge,
// header, statechart highlight, actions, composer) renders from it, so they cannot disagree.
// It starts from the session resource at its `last_event_seq` and then moves with the event stream only.

/**
 * The API's types, for editors: the console is served as is, without a build.
 * @typedef {import('../../domain/events.js').SessionEvent} SessionEvent
 * @typedef {import('../../domain/types.js').SessionView} SessionView
 * @typedef {import('../../domain/types.js').Question} Question
 */

/**
 * @typedef {object} SessionState
 * @property {string} id
 * @property {string | null} title
 * @property {string} agent
 * @property {string} state            idle | running | awaitingUser | completed
 * @property {Question | null} question  the open question
 * @property {boolean} pendingWork     a user turn waits for a run (the API's has_pending_work)
 * @property {string | null} runId
 * @property {boolean} deleted
 * @property {number} seq              the last event this state includes
 */

/**
 * @param {SessionView} session
 * @returns {SessionState}
 */
export function fromSession(session) {
  return {
    id: session.id,
    title: session.title,
    agent: session.agent,
    state: session.state,
    question: session.pending_question ?? null,
    pendingWork: Boolean(session.has_pending_work),
    runId: session.run_id ?? null,
    deleted: false,
    seq: session.last_event_seq,
  };
}

/**
 * The state after one event (the same object for an event the snapshot already includes).
 * The pending-work rules mirror the session machine's actions.
 * @param {SessionState} current
 * @param {SessionEvent} event
 * @returns {SessionState}
 */
export function applyEvent(current, event) {
  if (event.seq <= current.seq) return current; // already part of the snapshot
  const next = { ...current, seq: event.seq };
  switch (event.type) {
    case 'state_changed':
      return { ...next, state: event.to };
    case 'message_appended':
      // A user turn (not a message a run wrote) is work waiting for a run.
      return event.message?.role === 'user' && !event.run_id ? { ...next, pendingWork: true } : next;
    case 'run_started':
      return { ...next, runId: event.run_id ?? null, pendingWork: false };
    case 'question_asked':
      return { ...next, runId: null, question: event.question };
    case 'question_answered':
      return { ...next, question: next.question?.id === event.question_id ? null : next.question, pendingWork: true };
    case 'run_completed':
      return { ...next, runId: null };
    case 'run_failed':
    case 'run_cancelled':
    case 'run_interrupted':
      // The user's turn is kept: resume retries it.
      return { ...next, runId: null, pendingWork: true };
    case 'session_deleted':
      return { ...next, deleted: true };
    default:
      return next;
  }
}

/**
 * A listed copy of the session taken at exactly our position replaces what we derived, so a rule the
 * events only imply cannot drift from the server. Any other copy is older or newer than what is shown.
 * @param {SessionState} current
 * @param {SessionView} session
 */
export function reconcile(current, session) {
  if (session.id !== current.id || session.last_event_seq !== current.seq || current.deleted) return current;
  const fresh = fromSession(session);
  const same = /** @type {const} */ (['title', 'state', 'pendingWork', 'runId']).every((key) => fresh[key] === current[key]) && fresh.question?.id === current.question?.id;
  return same ? current : fresh;
}

/**
 * What the user can do now; each control is shown only when it can do something.
 * @param {SessionState} s
 */
export function actionsFor(s) {
  if (s.deleted) return { resume: false, cancel: false, answer: false, compose: false };
  return {
    resume: s.state === 'idle' && s.pendingWork,
    cancel: s.state === 'running',
    answer: s.state === 'awaitingUser' && s.question !== null,
    compose: s.state === 'idle' || s.state === 'completed',
  };
}
