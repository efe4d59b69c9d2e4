/** Diagrams of state machines, generated from the machine definitions themselves. */
export { allStates, guardName, machineJson } from './machine-json.js';
export type { MachineJson, StateJson, TransitionJson } from './machine-json.js';
export { toMermaid } from './mermaid.js';
export { DIAGRAM_DETAILS, diagramDetail, toDot } from './dot.js';
export type { DiagramDetail, DotOptions } from './dot.js';
export { machineSvg, renderDot } from './svg.js';
