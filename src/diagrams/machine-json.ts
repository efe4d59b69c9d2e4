/**
 * A plain, serialisable description of a state machine, read from the machine
 * object itself (its state nodes and their transition maps) so every diagram
 * follows the code and can never drift from it.
 */
import type { AnyStateMachine, AnyStateNode } from 'xstate';

export interface TransitionJson {
  /** The event type as the machine sees it, e.g. `resume` or `xstate.done.actor.run`. */
  event: string;
  /** A readable name for diagrams: invoke completions read `onDone(run)` / `onError(run)`. */
  label: string;
  /** Path of the target state (`idle`, or `a.b` when nested); null for a transition that stays put. */
  target: string | null;
  /** `hasPendingWork`, `a && b`, `inline` for an anonymous function; null when unguarded. */
  guard: string | null;
  actions: string[];
}

export interface StateJson {
  key: string;
  /** Dotted path from the root; unique, used as the node id in diagrams. */
  path: string;
  type: string;
  /** Path of the initial child of a compound state. */
  initial: string | null;
  invoke: { id: string; src: string }[];
  /** In the machine's own priority order: for one event, the first enabled one wins. */
  transitions: TransitionJson[];
  states: StateJson[];
}

export interface MachineJson {
  id: string;
  initial: string | null;
  states: StateJson[];
  /** Every event type some state handles, in first-seen order. */
  events: string[];
}

const cache = new WeakMap<AnyStateMachine, MachineJson>();

export function machineJson(machine: AnyStateMachine): MachineJson {
  let json = cache.get(machine);
  if (!json) {
    const states = Object.values(machine.root.states).map(describeState);
    json = { id: machine.id, initial: initialOf(machine.root), states, events: eventsOf(states) };
    cache.set(machine, json);
  }
  return json;
}

/** Depth-first list of every state, nested ones included. */
export function allStates(json: MachineJson): StateJson[] {
  const out: StateJson[] = [];
  const visit = (state: StateJson) => {
    out.push(state);
    state.states.forEach(visit);
  };
  json.states.forEach(visit);
  return out;
}

function describeState(node: AnyStateNode): StateJson {
  const transitions: TransitionJson[] = [];
  for (const [event, definitions] of node.transitions) {
    for (const definition of definitions) {
      transitions.push({
        event,
        label: eventLabel(event),
        target: definition.target?.map(pathOf).join(', ') || null,
        guard: guardName(definition.guard),
        actions: definition.actions.map(actionName),
      });
    }
  }
  return {
    key: node.key,
    path: pathOf(node),
    type: node.type,
    initial: initialOf(node),
    invoke: node.invoke.map((invoke) => ({ id: invoke.id, src: typeof invoke.src === 'string' ? invoke.src : 'inline' })),
    transitions,
    states: Object.values(node.states).map(describeState),
  };
}

function pathOf(node: AnyStateNode): string {
  return node.path.join('.');
}

function initialOf(node: AnyStateNode): string | null {
  if (node.type !== 'compound') return null;
  return node.initial?.target.map(pathOf).join(', ') || null;
}

function eventsOf(states: StateJson[]): string[] {
  const events = new Set<string>();
  const visit = (state: StateJson) => {
    for (const transition of state.transitions) events.add(transition.event);
    state.states.forEach(visit);
  };
  states.forEach(visit);
  return [...events];
}

function eventLabel(event: string): string {
  const done = /^xstate\.done\.actor\.(.+)$/.exec(event);
  if (done) return `onDone(${done[1]})`;
  const error = /^xstate\.error\.actor\.(.+)$/.exec(event);
  if (error) return `onError(${error[1]})`;
  return event;
}

/** Named guards keep their name; `and`/`or`/`not` combinators are spelled out. */
export function guardName(guard: unknown): string | null {
  if (guard === undefined || guard === null) return null;
  if (typeof guard === 'string') return guard;
  if (typeof guard === 'object' && 'type' in guard) return String(guard.type);
  if (typeof guard === 'function') {
    const { name, guards } = guard as { name: string; guards?: unknown[] };
    const parts = (guards ?? []).map((inner) => {
      const text = guardName(inner) ?? 'true';
      return /\s/.test(text) ? `(${text})` : text;
    });
    if (name === 'and' && guards) return parts.join(' && ');
    if (name === 'or' && guards) return parts.join(' || ');
    if (name === 'not' && guards) return `!${parts[0]}`;
    return 'inline';
  }
  return 'inline';
}

/** Named actions keep their name; built-in action creators used inline show their kind. */
function actionName(action: unknown): string {
  if (typeof action === 'string') return action;
  const type = (action as { type?: unknown } | null)?.type;
  if (typeof type === 'string') return type.replace(/^xstate\./, '');
  return 'inline';
}
