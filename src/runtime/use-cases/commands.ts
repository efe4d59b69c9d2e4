/** Sending the machine its commands and reading its replies, shared by the use cases. */
import { SessionError } from '../../domain/errors.js';
import { newId, now } from '../../domain/ids.js';
import type { OutcomeOf } from '../../domain/outcomes.js';
import type { Reply, SessionHost } from '../session-host.js';

/** Throws the machine's rejection as the client's error. */
export function refuseIfRejected(reply: Reply | null): void {
  if (reply?.type === 'rejected') throw new SessionError(reply.rejection.code, reply.rejection.message, reply.rejection.details);
}

/** Sends `resume`; a started run's events begin after the log's current end. */
export function resumeHost(host: SessionHost): OutcomeOf<'Started' | 'AlreadyRunning' | 'Completed'> {
  const eventsAfter = host.lastSeq;
  const reply = host.send({ type: 'resume', runId: newId('run'), at: now() });
  if (reply?.type !== 'reply') throw new Error('The session machine did not answer resume');
  const { replayed: _replayed, ...outcome } = reply.reply;
  if (outcome.outcome === 'Queued') throw new Error('The session machine queued a resume');
  return outcome.outcome === 'Started' ? { ...outcome, events_after: eventsAfter } : outcome;
}

/** After a message or an answer the session has pending work, so `resume` must start a run. */
export function startRun(host: SessionHost): OutcomeOf<'Started'> {
  const outcome = resumeHost(host);
  if (outcome.outcome !== 'Started') throw new Error(`A resume with pending work answered ${outcome.outcome}`);
  return outcome;
}
