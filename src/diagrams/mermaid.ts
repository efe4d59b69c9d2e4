/** Mermaid `stateDiagram-v2` text of a machine, for docs and for clients that render Mermaid themselves. */
import type { MachineJson, StateJson } from './machine-json.js';
import { internalLines, leavingTransitions, transitionCaption } from './labels.js';

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
  // Descriptions show what happens inside the state without cluttering it with self-loops.
  for (const line of internalLines(state)) lines.push(`${indent}${id(state.path)} : ${text(line)}`);
  for (const transition of leavingTransitions(state)) {
    for (const target of transition.target!.split(', ')) {
      lines.push(`${indent}${id(state.path)} --> ${id(target)} : ${text(transitionCaption(state, transition))}`);
    }
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
