// The statechart: a small picture in the sidebar and the full one (guards, actions) in an overlay.
// Both are inline SVG and the current state is highlighted here, from the same state object as the rest of
// the page: a per-state image fetched from the server would arrive late, or show another state than the header.
import { machineSvg } from './api.js';

/** The smallest text, in CSS pixels, a diagram may shrink to; below it the frame scrolls instead. */
const LEGIBLE_PX = 11;
/** Pixels per SVG unit at most, so a small diagram in a wide frame does not turn into a poster. */
const MAX_SCALE = 1.5;

/**
 * @param {string} text SVG markup from our own server
 * @returns {SVGSVGElement}
 */
function parseSvg(text) {
  const doc = new DOMParser().parseFromString(text, 'image/svg+xml');
  const root = doc.documentElement;
  if (root.nodeName !== 'svg' || doc.querySelector('parsererror')) throw new Error('The statechart is not valid SVG');
  const svg = /** @type {SVGSVGElement} */ (document.importNode(root, true));
  svg.removeAttribute('width');
  svg.removeAttribute('height');
  svg.setAttribute('aria-hidden', 'true'); // the frame carries the role and the label
  return svg;
}

/** Scales the frame's SVG to its width, but never so far that text gets smaller than LEGIBLE_PX. */
function fit(frame) {
  const svg = frame.querySelector('svg');
  if (!svg || frame.clientWidth === 0) return;
  const box = svg.viewBox.baseVal;
  const sizes = [...svg.querySelectorAll('text')].map((text) => Number(text.getAttribute('font-size'))).filter((size) => size > 0);
  const smallest = Math.min(...sizes, 14);
  const scale = Math.min(MAX_SCALE, Math.max(frame.clientWidth / box.width, LEGIBLE_PX / smallest));
  svg.setAttribute('width', String(box.width * scale));
  svg.setAttribute('height', String(box.height * scale));
}

/** Centres a node in a frame that scrolls, without scrolling the page. */
function reveal(frame, node) {
  if (frame.scrollWidth <= frame.clientWidth && frame.scrollHeight <= frame.clientHeight) return;
  const outer = frame.getBoundingClientRect();
  const inner = node.getBoundingClientRect();
  frame.scrollLeft += inner.left + inner.width / 2 - (outer.left + outer.width / 2);
  frame.scrollTop += inner.top + inner.height / 2 - (outer.top + outer.height / 2);
}

export class Diagram {
  /**
   * @param {{ frame: HTMLElement, dialog: HTMLDialogElement, full: HTMLElement, openButton: HTMLElement, closeButton: HTMLElement }} parts
   */
  constructor({ frame, dialog, full, openButton, closeButton }) {
    this.frame = frame;
    this.dialog = dialog;
    this.full = full;
    /** @type {string} */
    this.state = '';
    this.loadingFull = null;
    openButton.addEventListener('click', () => this.open());
    frame.addEventListener('click', () => this.open());
    closeButton.addEventListener('click', () => dialog.close());
    // A click on the backdrop (the dialog element itself, outside its content) closes too; Esc is native.
    dialog.addEventListener('click', (event) => {
      if (event.target === dialog) dialog.close();
    });
    // The frames' widths follow the window; a ResizeObserver on them would also see our own height changes.
    window.addEventListener('resize', () => {
      fit(this.frame);
      fit(this.full);
    });
  }

  /** Loads the sidebar picture: the compact variant where the server has it, else the full one, scrolling. */
  async load() {
    try {
      this.mount(this.frame, await machineSvg('compact'));
    } catch (error) {
      this.frame.textContent = error.message;
    }
  }

  mount(frame, text) {
    const svg = parseSvg(text);
    frame.replaceChildren(svg);
    frame.dataset.detail = svg.querySelector('.graph')?.classList.contains('diagram-compact') ? 'compact' : 'full';
    fit(frame);
    this.highlight(frame, this.state, true);
  }

  /** Highlights `state` in both pictures. */
  show(state) {
    const changed = state !== this.state;
    this.state = state;
    this.highlight(this.frame, state, changed);
    this.highlight(this.full, state, changed);
  }

  highlight(frame, state, scroll) {
    const svg = frame.querySelector('svg');
    if (!svg) return;
    for (const node of svg.querySelectorAll('g.state.current')) node.classList.remove('current');
    const node = state ? svg.querySelector(`g.state[id="state_${CSS.escape(state)}"]`) : null;
    node?.classList.add('current');
    // Report what is drawn, not what was asked for: a state the picture lacks highlights nothing.
    const drawn = svg.querySelector('g.state.current')?.id.replace(/^state_/, '') ?? '';
    frame.dataset.state = drawn;
    const name = frame === this.full ? 'The full session statechart' : 'The session statechart';
    frame.setAttribute('aria-label', drawn ? `${name}; the current state, ${drawn}, is highlighted` : name);
    if (node && scroll) reveal(frame, node);
  }

  async open() {
    if (!this.dialog.open) this.dialog.showModal();
    try {
      this.loadingFull ??= machineSvg('full').then((text) => this.mount(this.full, text));
      await this.loadingFull;
    } catch (error) {
      this.loadingFull = null;
      this.full.textContent = error.message;
    }
    fit(this.full);
    const current = this.full.querySelector('g.state.current');
    if (current) reveal(this.full, current);
  }
}
