// Renders a session's events: the conversation (with streamed tokens) and the raw event log.
const MAX_LOG_ENTRIES = 1000;

function element(tag, className, text) {
  const node = document.createElement(tag);
  if (className) node.className = className;
  if (text !== undefined) node.textContent = text;
  return node;
}

function bubble(kind, role, text) {
  const item = element('li', kind);
  item.append(element('span', 'role', role), element('span', 'text', text));
  return item;
}

export class Conversation {
  constructor(list) {
    this.list = list;
    this.reset();
  }

  reset() {
    this.list.replaceChildren();
    this.streaming = new Map(); // run_id → the bubble its tokens go into
    this.questions = new Map(); // question id → its bubble
    this.messages = new Map(); // message id → its bubble (queued messages too), so a rollback can take it out
  }

  apply(event) {
    switch (event.type) {
      case 'message_appended':
        return this.message(event.message);
      case 'message_queued':
        return this.queued(event.message);
      case 'message_dequeued':
        this.messages.get(event.message_id)?.remove();
        this.messages.delete(event.message_id);
        return this.add(element('li', 'note', 'A queued message was taken back'));
      case 'messages_removed':
        return this.removed(event.message_ids);
      case 'question_withdrawn':
        return this.withdrawn(event.question_id);
      case 'token':
        return this.token(event);
      case 'run_started':
        this.list.setAttribute('aria-busy', 'true');
        return;
      case 'question_asked':
        // The run ends awaiting the user.
        this.endRun(event.run_id);
        return this.question(event.question);
      case 'tool_started':
        return this.add(element('li', 'note', `Tool ${event.name} called`));
      case 'run_failed':
        this.endRun(event.run_id, { cut: true });
        return this.add(element('li', 'note', `Run failed: ${event.error}`));
      case 'run_cancelled':
        this.endRun(event.run_id, { cut: true });
        return this.add(element('li', 'note', 'Run cancelled'));
      case 'run_interrupted':
        this.endRun(event.run_id, { cut: true });
        return this.add(element('li', 'note', 'Run interrupted (the server restarted)'));
      case 'run_completed':
        return this.endRun(event.run_id);
      case 'session_deleted':
        return this.add(element('li', 'note', 'This session was deleted'));
    }
  }

  message(message) {
    if (message.role === 'assistant' && message.run_id && this.streaming.has(message.run_id)) {
      // The streamed text becomes the stored message: same node, no flicker, no duplicate.
      const item = this.streaming.get(message.run_id);
      item.querySelector('.text').textContent = message.content;
      item.classList.remove('streaming');
      this.streaming.delete(message.run_id);
      this.messages.set(message.id, item);
      return;
    }
    // A queued message joins the transcript when its turn comes: it moves to here.
    this.messages.get(message.id)?.remove();
    const item =
      message.role === 'user' ? bubble('user', 'You', message.content)
      : message.role === 'assistant' ? bubble('assistant', 'Agent', message.content)
      : this.questions.has(message.tool_call_id) ? bubble('user', 'Your answer', message.content)
      : bubble('tool', 'Tool result', message.content);
    this.messages.set(message.id, item);
    this.add(item);
  }

  queued(message) {
    const item = bubble('user queued', 'You (queued)', message.content);
    this.messages.set(message.id, item);
    this.add(item);
  }

  /** A rollback took these messages out of the transcript: so does the chat. */
  removed(ids) {
    for (const id of ids) {
      this.messages.get(id)?.remove();
      this.messages.delete(id);
    }
    this.add(element('li', 'note', `Rolled back: ${ids.length} message${ids.length === 1 ? '' : 's'} left the conversation`));
  }

  withdrawn(questionId) {
    const item = this.questions.get(questionId);
    if (!item) return;
    item.classList.add('withdrawn');
    item.querySelector('.role').textContent = 'Agent asked (withdrawn)';
  }

  token(event) {
    let item = this.streaming.get(event.run_id);
    if (!item) {
      item = bubble('assistant streaming', 'Agent', '');
      this.streaming.set(event.run_id, item);
      this.add(item);
    }
    item.querySelector('.text').textContent += event.text;
    this.scroll();
  }

  question(question) {
    const options = question.options?.length ? ` (${question.options.join(' / ')})` : '';
    const item = bubble('question-asked', 'Agent asks', `${question.text}${options}`);
    this.questions.set(question.id, item);
    this.add(item);
  }

  /** `cut`: the run ended without its reply; text it streamed is shown as not kept. */
  endRun(runId, { cut = false } = {}) {
    const item = this.streaming.get(runId);
    if (item) {
      item.classList.remove('streaming');
      if (cut) {
        item.classList.add('cut');
        item.querySelector('.role').textContent = 'Agent (cut off, not kept)';
      }
    }
    this.streaming.delete(runId);
    this.list.setAttribute('aria-busy', 'false');
  }

  add(item) {
    this.list.append(item);
    this.scroll();
  }

  scroll() {
    this.list.scrollTop = this.list.scrollHeight;
  }
}

export class EventLog {
  constructor(list, showTokens) {
    this.list = list;
    // Tokens are many and repeat the reply; they are logged only while the box is ticked.
    this.showTokens = showTokens;
  }

  reset() {
    this.list.replaceChildren();
  }

  append(event) {
    if (event.type === 'token' && !this.showTokens.checked) return;
    const item = element('li');
    item.append(element('span', 'seq', `#${event.seq} `), element('span', 'type', event.type));
    const details = summary(event);
    if (details) item.append(document.createTextNode(` ${details}`));
    const nearBottom = this.list.scrollHeight - this.list.scrollTop - this.list.clientHeight < 40;
    this.list.append(item);
    while (this.list.childElementCount > MAX_LOG_ENTRIES) this.list.firstElementChild.remove();
    if (nearBottom) this.list.scrollTop = this.list.scrollHeight;
  }
}

const clip = (text, length = 120) => (text.length > length ? `${text.slice(0, length)}…` : text);

/** One readable line per event; the full JSON stays one click away in the API. */
function summary(event) {
  switch (event.type) {
    case 'state_changed':
      return `${event.from} → ${event.to}`;
    case 'message_appended':
      return `${event.message.role}: ${clip(JSON.stringify(event.message.content))}`;
    case 'token':
      return JSON.stringify(event.text);
    case 'question_asked':
      return clip(`${event.question.text}${event.question.options ? ` [${event.question.options.join(' | ')}]` : ''}`);
    case 'question_answered':
      return JSON.stringify(event.answer);
    case 'tool_started':
      return `${event.name} ${clip(event.arguments ?? '')}`;
    case 'tool_completed':
      return clip(String(event.result ?? ''));
    case 'run_failed':
      return `${event.run_id ?? ''} ${event.error}`;
    default:
      return event.run_id ?? '';
  }
}
