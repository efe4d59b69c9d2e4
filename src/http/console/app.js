// The console: session list, one selected session's conversation, controls, diagram and event log.
import { api, diagramUrl, openEvents } from './api.js';
import { Conversation, EventLog } from './chat.js';

const $ = (id) => document.getElementById(id);
const ui = {
  alert: $('alert'), list: $('session-list'), empty: $('sessions-empty'), placeholder: $('placeholder'),
  view: $('session-view'), heading: $('session-heading'), id: $('session-id'), link: $('session-link'),
  state: $('session-state'), resume: $('resume-button'), cancel: $('cancel-button'), status: $('status-line'),
  question: $('question'), questionText: $('question-text'), options: $('question-options'),
  customForm: $('custom-answer'), customText: $('custom-answer-text'),
  composer: $('composer'), composerText: $('composer-text'), send: $('send-button'), hint: $('composer-hint'),
  diagram: $('diagram'), diagramLink: $('diagram-link'), createForm: $('create-form'), createTitle: $('create-title'),
};
const conversation = new Conversation($('chat'));
const eventLog = new EventLog($('event-log'), $('show-tokens'));

const RUN_ENDS = { run_completed: 'completed', run_failed: 'failed', run_cancelled: 'cancelled', run_interrupted: 'interrupted', question_asked: 'asks a question' };

let sessions = [];
let selected = null; // { id, session, source, lastSeq }
let refreshTimer = null;

const label = (session) => session.title || `Session ${session.id.slice(-6)}`;

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
    button.querySelector('.name').textContent = label(session);
    const badge = button.querySelector('.badge');
    badge.textContent = session.state;
    badge.dataset.state = session.state;
    button.setAttribute('aria-current', String(session.id === selected?.id));
    if (ui.list.children[index] !== item) ui.list.insertBefore(item, ui.list.children[index] ?? null);
  });
  for (const item of existing.values()) item.remove();
}

async function loadSessions() {
  const page = await api.listSessions().catch(() => null);
  if (!page) return;
  sessions = page.sessions.map((session) => (session.id === selected?.session?.id ? selected.session : session));
  renderList();
}

function renderSession(session) {
  selected.session = session;
  ui.heading.textContent = label(session);
  ui.id.textContent = session.id;
  ui.link.href = `?session=${encodeURIComponent(session.id)}`;
  ui.state.textContent = session.state;
  ui.state.dataset.state = session.state;
  ui.cancel.disabled = session.state !== 'running';
  ui.resume.disabled = session.state === 'running';
  ui.send.disabled = session.state === 'running' || session.state === 'awaitingUser';
  ui.hint.textContent =
    session.state === 'running' ? 'The agent is working; wait, or cancel the run.'
    : session.state === 'awaitingUser' ? 'Answer the question above to continue.'
    : 'Enter sends; Shift+Enter starts a new line.';
  renderQuestion(session.pending_question);
  const src = diagramUrl(session.id, session.state);
  if (!ui.diagram.src.endsWith(src)) {
    ui.diagram.src = src;
    ui.diagram.alt = `The session statechart; the current state, ${session.state}, is highlighted`;
    ui.diagramLink.href = src;
  }
  const listed = sessions.findIndex((item) => item.id === session.id);
  if (listed >= 0) sessions[listed] = session;
  else sessions.unshift(session);
  renderList();
}

function renderQuestion(question) {
  ui.question.hidden = !question;
  if (!question) {
    ui.question.dataset.id = '';
    return;
  }
  if (ui.question.dataset.id === question.id) return;
  ui.question.dataset.id = question.id;
  ui.questionText.textContent = question.text;
  ui.options.replaceChildren(
    ...(question.options ?? []).map((option) => {
      const button = document.createElement('button');
      button.type = 'button';
      button.textContent = option;
      button.addEventListener('click', () => answer(question.id, option));
      return button;
    }),
  );
  ui.customForm.hidden = !question.allow_custom;
  ui.customText.value = '';
  (ui.options.firstElementChild ?? ui.customText).focus();
}

async function answer(questionId, text) {
  const id = selected.id;
  for (const button of ui.options.children) button.disabled = true;
  const result = await attempt(() => api.respond(id, questionId, text));
  for (const button of ui.options.children) button.disabled = false;
  if (!result) return;
  // A fresh answer's progress is reported by the run's own events, which may already have arrived.
  if (result.replayed) ui.status.textContent = 'That answer was already recorded.';
  ui.composerText.focus();
}

function scheduleRefresh() {
  clearTimeout(refreshTimer);
  refreshTimer = setTimeout(async () => {
    if (!selected) return;
    const id = selected.id;
    const reply = await api.getSession(id).catch(() => null);
    if (reply && selected?.id === id) renderSession(reply.session);
  }, 80);
}

function onEvent(event) {
  if (!selected || event.session_id !== selected.id || event.seq <= selected.lastSeq) return;
  selected.lastSeq = event.seq;
  eventLog.append(event);
  conversation.apply(event);
  if (event.type === 'state_changed') {
    ui.state.textContent = event.to;
    ui.state.dataset.state = event.to;
  }
  // Hide the answered question at once; replayed answers to older questions leave the open one alone.
  if (event.type === 'question_answered' && event.question_id === selected.session?.pending_question?.id) {
    selected.session = { ...selected.session, pending_question: null };
    renderQuestion(null);
  }
  // The session object carries what events only hint at (pending question, last run): fetch it, coalesced.
  if (['state_changed', 'question_asked', 'question_answered'].includes(event.type)) scheduleRefresh();
  if (event.type === 'run_started') ui.status.textContent = `Run ${event.run_id} started.`;
  if (RUN_ENDS[event.type]) ui.status.textContent = `Run ${event.run_id} ${RUN_ENDS[event.type]}.`;
  if (event.type === 'session_deleted') {
    selected.source.close();
    ui.status.textContent = 'This session was deleted.';
    loadSessions();
  }
}

async function select(id, { history = 'push' } = {}) {
  if (selected?.id === id) return;
  selected?.source.close();
  conversation.reset();
  eventLog.reset();
  ui.question.dataset.id = '';
  selected = { id, session: null, source: null, lastSeq: 0 };
  if (history !== 'none') {
    const url = `?session=${encodeURIComponent(id)}`;
    if (history === 'replace') window.history.replaceState({ id }, '', url);
    else window.history.pushState({ id }, '', url);
  }
  const reply = await attempt(() => api.getSession(id));
  if (selected?.id !== id) return;
  if (!reply) {
    selected = null;
    ui.view.hidden = true;
    ui.placeholder.hidden = false;
    return;
  }
  ui.placeholder.hidden = true;
  ui.view.hidden = false;
  ui.status.textContent = '';
  renderSession(reply.session);
  selected.source = openEvents(id, onEvent, (closed) => {
    ui.status.textContent = closed ? 'The event stream closed.' : 'Reconnecting to the event stream…';
  });
  selected.source.onopen = () => {
    if (ui.status.textContent.startsWith('Reconnecting')) ui.status.textContent = '';
  };
}

ui.createForm.addEventListener('submit', async (event) => {
  event.preventDefault();
  const reply = await attempt(() => api.createSession(ui.createTitle.value.trim()));
  if (!reply) return;
  ui.createTitle.value = '';
  await select(reply.session.id);
  ui.composerText.focus();
});

ui.composer.addEventListener('submit', async (event) => {
  event.preventDefault();
  const content = ui.composerText.value;
  if (!selected || !content.trim()) return;
  ui.send.disabled = true;
  const reply = await attempt(() => api.sendMessage(selected.id, content));
  ui.send.disabled = false;
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
  if (text && selected?.session?.pending_question) answer(selected.session.pending_question.id, text);
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
  selected?.source?.close();
  selected = null;
  ui.view.hidden = true;
  ui.placeholder.hidden = false;
  renderList();
});

const initial = new URLSearchParams(location.search).get('session');
loadSessions();
if (initial) select(initial, { history: 'none' });
setInterval(() => {
  if (!document.hidden) loadSessions();
}, 3000);
