// The HTTP API as API.md defines it. Paths are relative, so the console works wherever the app is mounted.
const BASE = 'api/v1';

export const EVENT_TYPES = [
  'session_created', 'message_appended', 'state_changed', 'run_started', 'token', 'tool_started',
  'tool_completed', 'question_asked', 'question_answered', 'run_completed', 'run_failed',
  'run_cancelled', 'run_interrupted', 'session_deleted',
];

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
  const response = await fetch(`${BASE}${path}`, init);
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

export const diagramUrl = (id, state) => `${BASE}${at(id)}/diagram.svg?state=${encodeURIComponent(state)}`;

/** Every event of the session from the start, then live; EventSource reconnects with Last-Event-ID by itself. */
export function openEvents(id, onEvent, onTrouble) {
  const source = new EventSource(`${BASE}${at(id)}/events?after=0`);
  for (const type of EVENT_TYPES) {
    source.addEventListener(type, (message) => onEvent(JSON.parse(message.data)));
  }
  source.onerror = () => onTrouble(source.readyState === EventSource.CLOSED);
  return source;
}
