/**
 * Graphviz DOT of a machine. States are rounded boxes listing what happens
 * inside them (invokes, transitions that stay put); arrows are the transitions
 * that change state. `highlight` marks the current state of one session.
 */
import type { MachineJson, StateJson } from './machine-json.js';
import { internalLines, leavingTransitions, transitionCaption } from './labels.js';

const FONT = 'Helvetica';
const COLORS = { fill: '#ffffff', border: '#4a5568', currentFill: '#fde68a', currentBorder: '#b45309', muted: '#4a5568' };

export function toDot(json: MachineJson, highlight?: string): string {
  const lines = [
    `digraph ${quote(json.id)} {`,
    '  rankdir=TB; compound=true; bgcolor="white"; nodesep=0.4; ranksep=0.6; pad=0.2;',
    `  node [shape=plain fontname=${quote(FONT)} fontsize=12];`,
    `  edge [fontname=${quote(FONT)} fontsize=10 color=${quote(COLORS.muted)} fontcolor="#1a202c"];`,
  ];
  if (json.initial) {
    lines.push('  "__initial" [shape=point width=0.15 label=""];');
    lines.push(`  "__initial" -> ${quote(leafOf(json, json.initial))};`);
  }
  for (const state of json.states) writeState(json, state, highlight, lines, '  ');
  lines.push('}');
  return lines.join('\n') + '\n';
}

function writeState(json: MachineJson, state: StateJson, highlight: string | undefined, lines: string[], indent: string): void {
  const current = state.path === highlight;
  if (state.states.length > 0) {
    lines.push(`${indent}subgraph ${quote(`cluster_${state.path}`)} {`);
    lines.push(`${indent}  label=<${caption(state)}>; style="rounded${current ? ',filled' : ''}"; fillcolor=${quote(COLORS.currentFill)};`);
    for (const child of state.states) writeState(json, child, highlight, lines, `${indent}  `);
    lines.push(`${indent}}`);
  } else {
    const attrs = [`label=<${table(state, current)}>`, `id=${quote(`state_${state.path}`)}`, `class=${quote(current ? 'state current' : 'state')}`];
    if (current) attrs.push('tooltip="current state"');
    lines.push(`${indent}${quote(state.path)} [${attrs.join(' ')}];`);
  }
  for (const transition of leavingTransitions(state)) {
    for (const target of transition.target!.split(', ')) {
      const attrs = [`label=${quote(transitionCaption(state, transition, '\n'))}`];
      const from = leafOf(json, state.path);
      const to = leafOf(json, target);
      if (from !== state.path) attrs.push(`ltail=${quote(`cluster_${state.path}`)}`);
      if (to !== target) attrs.push(`lhead=${quote(`cluster_${target}`)}`);
      lines.push(`${indent}${quote(from)} -> ${quote(to)} [${attrs.join(' ')}];`);
    }
  }
}

/** An HTML-like table: the name, then the internal lines in a smaller font. */
function table(state: StateJson, current: boolean): string {
  const fill = current ? COLORS.currentFill : COLORS.fill;
  const border = current ? COLORS.currentBorder : COLORS.border;
  const rows = [`<tr><td cellpadding="6">${caption(state)}${current ? ' <font point-size="10">(current)</font>' : ''}</td></tr>`];
  const inside = internalLines(state);
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
