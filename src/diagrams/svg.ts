/**
 * SVG rendering with Graphviz compiled to WebAssembly: offline, no native
 * binary. The module is loaded once, on first use; rendered diagrams are
 * cached by detail and highlight, a set bounded by the machine's states.
 */
import { Graphviz } from '@hpcc-js/wasm-graphviz';
import type { AnyStateMachine } from 'xstate';
import { type DotOptions, toDot } from './dot.js';
import { allStates, machineJson } from './machine-json.js';

let graphviz: Promise<Graphviz> | null = null;
const rendered = new WeakMap<AnyStateMachine, Map<string, string>>();

export function renderDot(dot: string): Promise<string> {
  graphviz ??= Graphviz.load();
  return graphviz.then((engine) => engine.dot(dot, 'svg'));
}

/**
 * The machine as SVG; `highlight` (a state path, e.g. `running`) marks the
 * current state; `detail: 'compact'` draws state and event names only.
 */
export async function machineSvg(machine: AnyStateMachine, highlight?: string, options: DotOptions = {}): Promise<string> {
  const json = machineJson(machine);
  const detail = options.detail === 'compact' ? 'compact' : 'full';
  // Only real states are cached, so arbitrary input cannot grow the cache.
  const state = highlight !== undefined && allStates(json).some((candidate) => candidate.path === highlight) ? highlight : '';
  const key = `${detail} ${state}`;
  let byKey = rendered.get(machine);
  if (!byKey) rendered.set(machine, (byKey = new Map()));
  const cached = byKey.get(key);
  if (cached) return cached;
  const svg = await renderDot(toDot(json, state || undefined, { detail }));
  byKey.set(key, svg);
  return svg;
}
