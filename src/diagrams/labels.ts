/** Transition and state captions shared by the Mermaid and DOT renderers. */
import type { StateJson, TransitionJson } from './machine-json.js';

/**
 * `event [guard] / actions` (`beforeActions` lets long arrows break there). An unguarded transition after a guarded one for
 * the same event is the fallback, shown as `[else]`.
 */
export function transitionCaption(state: StateJson, transition: TransitionJson, beforeActions = ' '): string {
  const index = state.transitions.indexOf(transition);
  const isFallback =
    transition.guard === null && state.transitions.slice(0, index).some((earlier) => earlier.event === transition.event);
  const guard = transition.guard ?? (isFallback ? 'else' : null);
  const actions = transition.actions.length > 0 ? `${beforeActions}/ ${transition.actions.join(', ')}` : '';
  return `${transition.label}${guard ? ` [${guard}]` : ''}${actions}`;
}

/** Lines written inside a state: what it invokes and the transitions that do not leave it. */
export function internalLines(state: StateJson): string[] {
  return [
    ...state.invoke.map((invoke) => `invoke ${invoke.src} (id: ${invoke.id})`),
    ...state.transitions.filter((transition) => transition.target === null).map((transition) => transitionCaption(state, transition)),
  ];
}

export function leavingTransitions(state: StateJson): TransitionJson[] {
  return state.transitions.filter((transition) => transition.target !== null);
}
