// The console: session list, one selected session's conversation, controls, statechart and event log.
import { api, openEvents } from './api.js';
import { onKeyChange } from './auth.js';
import { Conversation, EventLog } from './chat.js';
import { Diagram } from './diagram.js';
import { actionsFor, applyEvent, fromSession, reconcile } from './session-state.js';
import { SessionView, renderListBadge, sessionLabel } from './session-view.js';

const $ = (id) => document.getElementById(id);
const ui = {
  alert: $('alert'), list: $('session-list'), empty: $('sessions-empty'), placeholder: $('placeholder'),
  view: $('session-view'), heading: $('session-heading'), id: $('session-id'), link: $('session-link'),
  state: $('session-state'), resume: $('resume-button'), cancel: $('cancel-button'), status: $('status-line'),
  question: $('question'), questionText: $('question-text'), options: $('question-options'),
  customForm: $('custom-answer'), customText: $('custom-answer-text'),
  composer: $('composer'), composerText: $('composer-text'), send: $('send-button'), hint: $('composer-hint'),
  createForm: $('create-form'), createTitle: $('create-title'),
};
const conversation = new Conversation($('chat'));
const eventLog = new EventLog($('event-log'), $('show-tokens'));
const diagram = new Diagram({
  frame: $('diagram'), dialog: $('diagram-dialog'), full: $('diagram-full'), openButton: $('diagram-open'), closeButton: $('diagram-close'),
});
const view = new SessionView(ui, { diagram, onAnswer: answer });

const RUN_ENDS = { run_completed: 'completed', run_failed: 'failed', run_cancelled: 'cancelled', run_interrupted: 'interrupted', question_asked: 'asks a question' };

let sessions = [];
/** @type {{ id: string, state: import('./session-state.js').SessionState | null, stream: { close(): void } | null, seq: number } | null} */
let selected = null;

function showError(error) {
  ui.alert.textContent = error.code ? `${error.code}: ${error.message}` : String(error.message ?? error);
  ui.alert.hidden = false;
}
function clearError() {
  ui.alert.hidden = true;
}
async function attempt(action) {
  try {
    const result = await action();
    clearError();
    return result;
  } catch (error) {
    showError(error);
    return undefined;
  }
}

// Keyed update: list items are reused, so focus stays where it was while badges change.
function renderList() {
  ui.empty.hidden = sessions.length > 0;
  const existing = new Map([...ui.list.children].map((item) => [item.dataset.id, item]));
  sessions.forEach((session, index) => {
    let item = existing.get(session.id);
    if (!item) {
      item = document.createElement('li');
      item.dataset.id = session.id;
      const button = document.createElement('button');
      button.type = 'button';
      button.append(Object.assign(document.createElement('span'), { className: 'name' }), Object.assign(document.createElement('span'), { className: 'badge' }));
      button.addEventListener('click', () => select(session.id));
      item.append(button);
    }
    existing.delete(session.id);
    const button = item.firstElementChild;
    const name = button.querySelector('.name');
    name.textContent = sessionLabel(session);
    name.title = sessionLabel(session); // the full title when it is cut short
    const badge = button.querySelector('.badge');
    badge.textContent = session.state;
    badge.dataset.state = session.state;
    button.setAttribute('aria-current', String(session.id === selected?.id));
    if (ui.list.children[index] !== item) ui.list.insertBefore(item, ui.list.children[index] ?? null);
  });
  for (const item of existing.values()) item.remove();
  // The selected session's badge follows its event stream, not this (possibly older) list.
  if (selected?.state) renderListBadge(ui.list, selected.state);
}

async function loadSessions() {
  const page = await api.listSessions().catch(() => null);
  if (!page) return;
  sessions = page.sessions;
  if (selected?.state) {
    const listed = sessions.find((session) => session.id === selected.id);
    if (listed) update(reconcile(selected.state, listed));
    else if (!selected.state.deleted) sessions.unshift({ id: selected.id, title: selected.state.title, state: selected.state.state });
  }
  renderList();
}

function update(next) {
  if (!selected || next === selected.state) return;
  selected.state = next;
  view.render(next);
}

function onEvent(event) {
  if (!selected || event.session_id !== selected.id || event.seq <= selected.seq) return;
  selected.seq = event.seq;
  eventLog.append(event);
  conversation.apply(event);
  update(applyEvent(selected.state, event));
  // A refusal shown earlier (busy, a question answered elsewhere) is out of date once the session moves on.
  if (event.type === 'state_changed') clearError();
  if (event.type === 'run_started') ui.status.textContent = `Run ${event.run_id} started.`;
  if (RUN_ENDS[event.type]) ui.status.textContent = `Run ${event.run_id} ${RUN_ENDS[event.type]}.`;
  if (event.type === 'session_deleted') {
    ui.status.textContent = 'This session was deleted.';
    loadSessions();
  }
}

/** The status line as it was before a reconnection, shown again once the stream is back. */
let statusBeforeReconnect = '';
function onStreamStatus(status, detail) {
  const reconnecting = ui.status.textContent.startsWith('Reconnecting');
  if (status === 'reconnecting') {
    if (!reconnecting) statusBeforeReconnect = ui.status.textContent;
    ui.status.textContent = 'Reconnecting to the event stream…';
  } else if (status === 'open' && reconnecting) ui.status.textContent = statusBeforeReconnect;
  else if (status === 'closed') ui.status.textContent = detail?.status === 404 ? 'This session no longer exists.' : 'The event stream closed.';
}

function deselect() {
  selected?.stream?.close();
  selected = null;
  ui.view.hidden = true;
  ui.placeholder.hidden = false;
  diagram.show('');
  renderList();
}

async function select(id, { history = 'push', force = false } = {}) {
  if (selected?.id === id && !force) return;
  selected?.stream?.close();
  conversation.reset();
  eventLog.reset();
  ui.question.dataset.id = '';
  const mine = { id, state: null, stream: null, seq: 0 };
  selected = mine;
  if (history !== 'none') {
    const url = `?session=${encodeURIComponent(id)}`;
    if (history === 'replace') window.history.replaceState({ id }, '', url);
    else window.history.pushState({ id }, '', url);
  }
  const reply = await attempt(() => api.getSession(id));
  // Another selection (or this one again, after a new key) began meanwhile: it owns the page.
  if (selected !== mine) return;
  if (!reply) return deselect();
  ui.placeholder.hidden = true;
  ui.view.hidden = false;
  ui.status.textContent = '';
  if (!sessions.some((session) => session.id === id)) sessions.unshift(reply.session);
  selected.state = fromSession(reply.session);
  renderList();
  view.render(selected.state);
  // The whole log replays into the conversation; the state object only takes events after its snapshot.
  selected.stream = openEvents(id, 0, onEvent, onStreamStatus);
}

async function answer(questionId, text) {
  const id = selected.id;
  view.setAnswering(true);
  const result = await attempt(() => api.respond(id, questionId, text));
  view.setAnswering(false);
  if (!result) return;
  // A fresh answer's progress is reported by the run's own events, which may already have arrived.
  if (result.replayed) ui.status.textContent = 'That answer was already recorded.';
  ui.composerText.focus();
}

// One request at a time per form: a double click or a second Enter must not send twice.
let creating = false;
ui.createForm.addEventListener('submit', async (event) => {
  event.preventDefault();
  if (creating) return;
  creating = true;
  const reply = await attempt(() => api.createSession(ui.createTitle.value.trim())).finally(() => (creating = false));
  if (!reply) return;
  ui.createTitle.value = '';
  await select(reply.session.id);
  ui.composerText.focus();
});

let sending = false;
ui.composer.addEventListener('submit', async (event) => {
  event.preventDefault();
  const content = ui.composerText.value;
  if (sending || !selected?.state || !content.trim() || !actionsFor(selected.state).compose) return;
  sending = true;
  ui.send.disabled = true;
  const reply = await attempt(() => api.sendMessage(selected.id, content)).finally(() => (sending = false));
  if (selected?.state) view.render(selected.state);
  if (reply) ui.composerText.value = '';
  ui.composerText.focus();
});
ui.composerText.addEventListener('keydown', (event) => {
  if (event.key === 'Enter' && !event.shiftKey && !event.isComposing) {
    event.preventDefault();
    ui.composer.requestSubmit();
  }
});

ui.customForm.addEventListener('submit', (event) => {
  event.preventDefault();
  const text = ui.customText.value.trim();
  const question = selected?.state?.question;
  if (text && question) answer(question.id, text);
});

ui.resume.addEventListener('click', async () => {
  const reply = await attempt(() => api.resume(selected.id));
  if (!reply) return;
  ui.status.textContent =
    reply.outcome === 'Started' ? `Resumed: run ${reply.run_id} started.`
    : reply.outcome === 'AlreadyRunning' ? `Already running (${reply.run_id}).`
    : 'Nothing to resume: no pending work.';
});
ui.cancel.addEventListener('click', async () => {
  const reply = await attempt(() => api.cancel(selected.id));
  if (reply) ui.status.textContent = `Run ${reply.run_id} cancelled.`;
});

window.addEventListener('popstate', () => {
  const id = new URLSearchParams(location.search).get('session');
  if (id) return select(id, { history: 'none' });
  deselect();
});

// A key entered: load again what was refused, and what was shown for another key's tenant.
onKeyChange(() => {
  clearError();
  loadSessions();
  diagram.load();
  const id = selected?.id ?? new URLSearchParams(location.search).get('session');
  if (id) select(id, { history: 'none', force: true });
});

const initial = new URLSearchParams(location.search).get('session');
diagram.load();
loadSessions();
if (initial) select(initial, { history: 'none' });
setInterval(() => {
  if (!document.hidden) loadSessions();
}, 3000);
