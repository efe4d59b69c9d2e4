// The HTTP API as docs/API.md describes it. Paths are relative, so the console works wherever the app is mounted.
// Every request goes through authFetch, so the API key (when one is stored) is on all of them.
import { authFetch } from './auth.js';
import { openEventStream } from './sse.js';

const BASE = 'api/v1';

export class ApiError extends Error {
  constructor(status, code, message) {
    super(message);
    this.status = status;
    this.code = code;
  }
}

// A double click or a retried request must not create two sessions or send a message twice.
function idempotencyKey() {
  return globalThis.crypto?.randomUUID?.() ?? `${Date.now()}-${Math.random().toString(36).slice(2)}`;
}

async function request(method, path, body, { idempotent = false } = {}) {
  const headers = { Accept: 'application/json' };
  const init = { method, headers };
  if (body !== undefined) {
    headers['Content-Type'] = 'application/json';
    init.body = JSON.stringify(body);
  }
  if (idempotent) headers['Idempotency-Key'] = idempotencyKey();
  const response = await authFetch(`${BASE}${path}`, init);
  const text = await response.text();
  let data = null;
  try {
    data = text ? JSON.parse(text) : null;
  } catch {
    data = null;
  }
  if (!response.ok) {
    throw new ApiError(response.status, data?.error?.code ?? 'http_error', data?.error?.message ?? response.statusText);
  }
  return data;
}

const at = (id) => `/sessions/${encodeURIComponent(id)}`;

export const api = {
  listSessions: () => request('GET', '/sessions?limit=50'),
  createSession: (title) => request('POST', '/sessions', title ? { title } : {}, { idempotent: true }),
  getSession: (id) => request('GET', at(id)),
  sendMessage: (id, content) => request('POST', `${at(id)}/messages`, { content }, { idempotent: true }),
  respond: (id, questionId, answer) =>
    request('POST', `${at(id)}/respond`, { question_id: questionId, answer }, { idempotent: true }),
  resume: (id) => request('POST', `${at(id)}/resume`),
  cancel: (id) => request('POST', `${at(id)}/cancel`),
};

/**
 * The session statechart as SVG text. `compact` asks for the names-only variant; a server that does not
 * offer it answers the full diagram, and the caller can tell from the SVG itself.
 * @param {'compact' | 'full'} detail
 */
export async function machineSvg(detail) {
  const query = detail === 'compact' ? '?detail=compact' : '';
  const response = await authFetch(`${BASE}/machines/session.svg${query}`, { headers: { Accept: 'image/svg+xml' } });
  if (!response.ok) throw new ApiError(response.status, 'http_error', `The statechart could not be loaded (${response.status})`);
  return response.text();
}

/**
 * Every event of the session after `afterSeq` (0: from the start), then live, each exactly once across
 * reconnections.
 * @param {string} id
 * @param {number} afterSeq
 * @param {(event: import('./session-state.js').SessionEvent) => void} onEvent
 * @param {(status: 'open' | 'reconnecting' | 'closed', detail?: { status?: number }) => void} onStatus
 */
export function openEvents(id, afterSeq, onEvent, onStatus) {
  return openEventStream(`${BASE}${at(id)}/events`, {
    fetch: authFetch,
    lastEventId: String(afterSeq),
    onMessage: (message) => onEvent(JSON.parse(message.data)),
    onStatus,
  });
}
