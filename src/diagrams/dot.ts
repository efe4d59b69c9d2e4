/**
 * Graphviz DOT of a machine. In full detail, states are rounded boxes listing
 * what happens inside them (invokes, transitions that stay put) and arrows
 * carry `event [guard] / actions`. The compact detail keeps only state names
 * and the events that change state, one arrow per pair of states, so the
 * picture stays legible at a sidebar's width. `highlight` marks the current
 * state of one session.
 */
import type { MachineJson, StateJson } from './machine-json.js';
import { internalLines, leavingTransitions, transitionCaption } from './labels.js';

export type DiagramDetail = 'full' | 'compact';
export const DIAGRAM_DETAILS: readonly DiagramDetail[] = ['full', 'compact'];

/** A query parameter's value as a detail level; anything but `compact` is the full diagram. */
export function diagramDetail(value: unknown): DiagramDetail {
  return value === 'compact' ? 'compact' : 'full';
}

export interface DotOptions {
  detail?: DiagramDetail;
}

const FONT = 'Helvetica';
const COLORS = { fill: '#ffffff', border: '#4a5568', currentFill: '#fde68a', currentBorder: '#b45309', muted: '#4a5568' };
// Compact pictures are shown small, so their text starts larger, their spacing is tighter, and they run left to
// right (narrower for a sidebar, with labels beside the arrows).
const STYLE = {
  full: { graph: 'rankdir=TB; nodesep=0.4; ranksep=0.6; pad=0.2;', stateSize: 12, edgeSize: 10 },
  compact: { graph: 'rankdir=LR; nodesep=0.1; ranksep=0.15; pad=0.05;', stateSize: 14, edgeSize: 11 },
} as const;

interface Writer {
  json: MachineJson;
  highlight: string | undefined;
  detail: DiagramDetail;
  lines: string[];
}

export function toDot(json: MachineJson, highlight?: string, options: DotOptions = {}): string {
  const detail = options.detail ?? 'full';
  const style = STYLE[detail];
  const lines = [
    `digraph ${quote(json.id)} {`,
    `  compound=true; bgcolor="white"; ${style.graph}`,
    `  class=${quote(`diagram-${detail}`)};`,
    `  node [shape=plain fontname=${quote(FONT)} fontsize=${style.stateSize}];`,
    `  edge [fontname=${quote(FONT)} fontsize=${style.edgeSize} color=${quote(COLORS.muted)} fontcolor="#1a202c"];`,
  ];
  if (json.initial) {
    lines.push('  "__initial" [shape=point width=0.15 label=""];');
    lines.push(`  "__initial" -> ${quote(leafOf(json, json.initial))};`);
  }
  const writer: Writer = { json, highlight, detail, lines };
  for (const state of json.states) writeState(writer, state, '  ');
  lines.push('}');
  return lines.join('\n') + '\n';
}

function writeState(writer: Writer, state: StateJson, indent: string): void {
  const { json, highlight, lines } = writer;
  const current = state.path === highlight;
  if (state.states.length > 0) {
    lines.push(`${indent}subgraph ${quote(`cluster_${state.path}`)} {`);
    lines.push(`${indent}  label=<${caption(state)}>; style="rounded${current ? ',filled' : ''}"; fillcolor=${quote(COLORS.currentFill)};`);
    for (const child of state.states) writeState(writer, child, `${indent}  `);
    lines.push(`${indent}}`);
  } else {
    const attrs = [`label=<${table(state, current, writer.detail)}>`, `id=${quote(`state_${state.path}`)}`, `class=${quote(current ? 'state current' : 'state')}`];
    if (current) attrs.push('tooltip="current state"');
    lines.push(`${indent}${quote(state.path)} [${attrs.join(' ')}];`);
  }
  for (const arrow of arrows(state, writer.detail)) {
    const attrs = [`label=${quote(arrow.label)}`];
    const from = leafOf(json, state.path);
    const to = leafOf(json, arrow.target);
    if (from !== state.path) attrs.push(`ltail=${quote(`cluster_${state.path}`)}`);
    if (to !== arrow.target) attrs.push(`lhead=${quote(`cluster_${arrow.target}`)}`);
    lines.push(`${indent}${quote(from)} -> ${quote(to)} [${attrs.join(' ')}];`);
  }
}

/**
 * The arrows leaving a state. Full: one per transition and target. Compact:
 * one per other state, naming each event that leads there once, in machine
 * order, grouped by family (`message`, `  .interrupt`, `  .rollback`).
 */
function arrows(state: StateJson, detail: DiagramDetail): { target: string; label: string }[] {
  const byTarget = new Map<string, string[]>();
  const out: { target: string; label: string }[] = [];
  for (const transition of leavingTransitions(state)) {
    for (const target of transition.target!.split(', ')) {
      if (detail === 'full') {
        out.push({ target, label: transitionCaption(state, transition, '\n') });
        continue;
      }
      // A transition back into the same state changes no state: the compact picture leaves it out.
      if (target === state.path) continue;
      const events = byTarget.get(target) ?? [];
      if (!events.includes(transition.label)) events.push(transition.label);
      byTarget.set(target, events);
    }
  }
  for (const [target, events] of byTarget) out.push({ target, label: byFamily(events).join('\n') });
  return out;
}

/**
 * Events grouped by family, for narrow lines: a family of two or more is written as its name, then one
 * `.member` line each; a lone event in full. `['message.append', 'message.enqueue', 'resume']` →
 * `['message', '  .append', '  .enqueue', 'resume']`.
 */
function byFamily(events: readonly string[]): string[] {
  const families = new Map<string, string[]>();
  for (const event of events) {
    const dot = event.indexOf('.');
    const family = dot > 0 ? event.slice(0, dot) : event;
    families.set(family, [...(families.get(family) ?? []), event]);
  }
  return [...families].flatMap(([family, members]) =>
    members.length === 1 ? members : [family, ...members.map((event) => `  ${event.slice(family.length)}`)],
  );
}

/** An HTML-like table: the name, then (in full detail) the internal lines in a smaller font. */
function table(state: StateJson, current: boolean, detail: DiagramDetail): string {
  const fill = current ? COLORS.currentFill : COLORS.fill;
  const border = current ? COLORS.currentBorder : COLORS.border;
  const rows = [`<tr><td cellpadding="6">${caption(state)}${current ? ' <font point-size="10">(current)</font>' : ''}</td></tr>`];
  const inside = detail === 'full' ? internalLines(state) : [];
  if (inside.length > 0) {
    const body = inside.map(escape).join('<br align="left"/>');
    rows.push(`<hr/><tr><td align="left" balign="left" cellpadding="5"><font point-size="9" color=${quote(COLORS.muted)}>${body}<br align="left"/></font></td></tr>`);
  }
  const width = current ? 3 : 1;
  return `<table border="${width}" cellborder="0" cellspacing="0" cellpadding="3" style="rounded" bgcolor="${fill}" color="${border}">${rows.join('')}</table>`;
}

function caption(state: StateJson): string {
  return `<b>${escape(state.key)}</b>`;
}

/** Arrows cannot end on a cluster; they end on its initial leaf and are clipped to the cluster. */
function leafOf(json: MachineJson, path: string): string {
  let state = find(json.states, path);
  while (state && state.initial && state.states.length > 0) state = find(state.states, state.initial);
  return state?.path ?? path;
}

function find(states: StateJson[], path: string): StateJson | undefined {
  for (const state of states) {
    if (state.path === path) return state;
    const inner = find(state.states, path);
    if (inner) return inner;
  }
  return undefined;
}

function escape(value: string): string {
  return value.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
}

function quote(value: string): string {
  return `"${value.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n')}"`;
}
