// Renders the selected session's state object everywhere it shows, in one synchronous pass: the header badge,
// the list badge, the statechart highlight, the actions, the question and the composer.
import { actionsFor } from './session-state.js';

const DEMO = {
  placeholder: 'Say something, or try /ask Pick one | red | blue',
  hint: 'Demo agent: /ask QUESTION | A | B asks you, /sleep MS waits, /fail TEXT fails, anything else is echoed.',
};
const NEUTRAL = { placeholder: 'Message the agent…', hint: '' };
const KEYS = 'Enter sends; Shift+Enter starts a new line.';

export const sessionLabel = (session) => session.title || `Session ${session.id.slice(-6)}`;

/** Puts the selected session's state onto its list entry; the list renders the other sessions itself. */
export function renderListBadge(list, state) {
  const badge = list.querySelector(`li[data-id="${CSS.escape(state.id)}"] .badge`);
  if (!badge) return;
  badge.textContent = state.state;
  badge.dataset.state = state.state;
}

export class SessionView {
  /**
   * @param {Record<string, HTMLElement>} ui
   * @param {{ diagram: { show(state: string): void }, onAnswer: (questionId: string, answer: string) => void }} parts
   */
  constructor(ui, { diagram, onAnswer }) {
    this.ui = ui;
    this.diagram = diagram;
    this.onAnswer = onAnswer;
  }

  /** @param {import('./session-state.js').SessionState} s */
  render(s) {
    const { ui } = this;
    const can = actionsFor(s);
    ui.heading.textContent = sessionLabel(s);
    ui.id.textContent = s.id;
    ui.link.href = `?session=${encodeURIComponent(s.id)}`;
    ui.state.textContent = s.state;
    ui.state.dataset.state = s.state;
    renderListBadge(ui.list, s);
    this.diagram.show(s.state);

    ui.resume.hidden = !can.resume;
    ui.cancel.hidden = !can.cancel;
    this.renderQuestion(can.answer ? s.question : null);
    ui.send.disabled = !can.compose;

    const agent = s.agent === 'demo' ? DEMO : NEUTRAL;
    ui.composerText.placeholder = agent.placeholder;
    ui.hint.textContent =
      s.deleted ? 'This session was deleted.'
      : s.state === 'running' ? 'The agent is working; wait, or cancel the run.'
      : s.state === 'awaitingUser' ? 'Answer the question above to continue.'
      : can.resume ? 'The last turn did not finish; Resume runs it again, or send a new message.'
      : [agent.hint, KEYS].filter(Boolean).join(' ');
    // Lets tests and embedding pages observe each complete render.
    document.dispatchEvent(new CustomEvent('bamboo:render', { detail: { id: s.id, state: s.state, seq: s.seq } }));
  }

  renderQuestion(question) {
    const { ui } = this;
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
        button.addEventListener('click', () => this.onAnswer(question.id, option));
        return button;
      }),
    );
    ui.customForm.hidden = !question.allow_custom;
    ui.customText.value = '';
    (ui.options.firstElementChild ?? ui.customText).focus();
  }

  /** While an answer is on its way, its buttons cannot send a second one. */
  setAnswering(busy) {
    for (const button of this.ui.options.children) button.disabled = busy;
  }
}
