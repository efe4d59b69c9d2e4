/**
 * SVG rendering with Graphviz compiled to WebAssembly: offline, no native
 * binary. The module is loaded once, on first use; rendered diagrams are
 * cached by highlight, a set bounded by the machine's states.
 */
import { Graphviz } from '@hpcc-js/wasm-graphviz';
import type { AnyStateMachine } from 'xstate';
import { toDot } from './dot.js';
import { allStates, machineJson } from './machine-json.js';

let graphviz: Promise<Graphviz> | null = null;
const rendered = new WeakMap<AnyStateMachine, Map<string, string>>();

export function renderDot(dot: string): Promise<string> {
  graphviz ??= Graphviz.load();
  return graphviz.then((engine) => engine.dot(dot, 'svg'));
}

/** The machine as SVG; `highlight` (a state path, e.g. `running`) marks the current state. */
export async function machineSvg(machine: AnyStateMachine, highlight?: string): Promise<string> {
  const json = machineJson(machine);
  // Only real states are cached, so arbitrary input cannot grow the cache.
  const key = highlight !== undefined && allStates(json).some((state) => state.path === highlight) ? highlight : '';
  let byState = rendered.get(machine);
  if (!byState) rendered.set(machine, (byState = new Map()));
  const cached = byState.get(key);
  if (cached) return cached;
  const svg = await renderDot(toDot(json, key || undefined));
  byState.set(key, svg);
  return svg;
}
