/** Mermaid `stateDiagram-v2` text of a machine, for docs and for clients that render Mermaid themselves. */
import type { MachineJson, StateJson } from './machine-json.js';
import { transitionCaption } from './labels.js';

export function toMermaid(json: MachineJson): string {
  const lines = ['stateDiagram-v2'];
  if (json.initial) lines.push(`  [*] --> ${id(json.initial)}`);
  for (const state of json.states) writeState(state, lines, '  ');
  return lines.join('\n') + '\n';
}

function writeState(state: StateJson, lines: string[], indent: string): void {
  if (state.states.length > 0) {
    lines.push(`${indent}state ${id(state.path)} {`);
    if (state.initial) lines.push(`${indent}  [*] --> ${id(state.initial)}`);
    for (const child of state.states) writeState(child, lines, `${indent}  `);
    lines.push(`${indent}}`);
  } else if (state.key !== state.path) {
    lines.push(`${indent}state "${state.key}" as ${id(state.path)}`);
  }
  for (const invoke of state.invoke) lines.push(`${indent}${id(state.path)} : ${text(`invoke ${invoke.src} (id: ${invoke.id})`)}`);
  // One line per transition in the machine's priority order: for one event the first enabled guard wins, so a
  // transition that stays put (a description) and one that leaves (an arrow) must not be regrouped.
  for (const transition of state.transitions) {
    const caption = text(transitionCaption(state, transition));
    if (transition.target === null) {
      lines.push(`${indent}${id(state.path)} : ${caption}`);
      continue;
    }
    for (const target of transition.target.split(', ')) lines.push(`${indent}${id(state.path)} --> ${id(target)} : ${caption}`);
  }
  if (state.type === 'final') lines.push(`${indent}${id(state.path)} --> [*]`);
}

/** Mermaid ids cannot contain dots. */
function id(path: string): string {
  return path.replace(/\./g, '__');
}

/** Mermaid reads `;` as a statement end and `#` as an entity start. */
function text(value: string): string {
  return value.replace(/[\r\n]+/g, ' ').replace(/;/g, ',').replace(/#/g, '');
}
