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
    this.questions = new Set();
  }

  apply(event) {
    switch (event.type) {
      case 'message_appended':
        return this.message(event.message);
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
        this.endRun(event.run_id);
        return this.add(element('li', 'note', `Run failed: ${event.error}`));
      case 'run_cancelled':
        this.endRun(event.run_id);
        return this.add(element('li', 'note', 'Run cancelled'));
      case 'run_interrupted':
        this.endRun(event.run_id);
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
      return;
    }
    if (message.role === 'user') return this.add(bubble('user', 'You', message.content));
    if (message.role === 'assistant') return this.add(bubble('assistant', 'Agent', message.content));
    if (this.questions.has(message.tool_call_id)) return this.add(bubble('user', 'Your answer', message.content));
    return this.add(bubble('tool', 'Tool result', message.content));
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
    this.questions.add(question.id);
    const options = question.options?.length ? ` (${question.options.join(' / ')})` : '';
    this.add(bubble('question-asked', 'Agent asks', `${question.text}${options}`));
  }

  endRun(runId) {
    this.streaming.get(runId)?.classList.remove('streaming');
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
