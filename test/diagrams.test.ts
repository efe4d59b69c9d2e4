/**
 * Diagrams come from the machine definition: the HTTP routes answer the four
 * states and their events as JSON and Mermaid, a valid SVG statechart, and a
 * session's picture with its own current state highlighted.
 */
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { and, createMachine, type AnyStateMachine, type AnyStateNode } from 'xstate';
import { sessionMachine } from '../machines/session.machine.js';
import { diagramDetail, machineJson, machineSvg, toDot, toMermaid, type MachineJson } from '../src/diagrams/index.js';
import { SESSION_STATES } from '../src/domain/types.js';
import { createServer, type BambooServer } from '../src/server.js';

const EVENTS = ['message.append', 'resume', 'question.answer', 'cancel', 'run.interrupt', 'run.fail', 'xstate.done.actor.run', 'message.enqueue', 'queue.remove', 'queue.next', 'message.interrupt', 'message.rollback'];

let server: BambooServer;
beforeAll(async () => {
  server = await createServer({ dbPath: ':memory:', port: 0, host: '127.0.0.1', tokenDelayMs: 0 });
});
afterAll(() => server?.close());

const get = (path: string, init?: RequestInit) => fetch(`${server.url}${path}`, init);

/** Well-formed XML with one <svg> root: every tag closed in order. Enough to catch broken or truncated output. */
function expectWellFormedSvg(svg: string): void {
  const body = svg.replace(/<\?xml[\s\S]*?\?>/, '').replace(/<!DOCTYPE[\s\S]*?>/, '').replace(/<!--[\s\S]*?-->/g, '').trim();
  expect(body.startsWith('<svg')).toBe(true);
  expect(body.endsWith('</svg>')).toBe(true);
  const open: string[] = [];
  for (const [, closing, name, selfClosing] of body.matchAll(/<(\/?)([A-Za-z][\w:.-]*)(?:\s[^<>]*?)?(\/?)>/g)) {
    if (selfClosing) continue;
    if (!closing) open.push(name!);
    else expect(open.pop(), `</${name}>`).toBe(name);
  }
  expect(open).toEqual([]);
}

function currentState(svg: string): string | undefined {
  return /<g id="state_(\w+)" class="node state current">/.exec(svg)?.[1];
}

/** The text of every <text> element, entities decoded. */
function svgTexts(svg: string): string[] {
  return [...svg.matchAll(/<text[^>]*>([^<]*)<\/text>/g)].map(([, inner]) =>
    inner!.replace(/&#45;/g, '-').replace(/&#160;/g, '\u00a0').replace(/&lt;/g, '<').replace(/&gt;/g, '>').replace(/&amp;/g, '&').replace(/&quot;/g, '"'),
  );
}

function svgWidth(svg: string): number {
  return Number(/viewBox="[\d.-]+ [\d.-]+ ([\d.]+) [\d.]+"/.exec(svg)![1]);
}

async function createSession(): Promise<string> {
  const response = await get('/api/v1/sessions', { method: 'POST' });
  return ((await response.json()) as { session: { id: string } }).session.id;
}

async function waitForState(id: string, state: string): Promise<void> {
  await vi.waitFor(async () => {
    const { session } = (await (await get(`/api/v1/sessions/${id}`)).json()) as { session: { state: string } };
    expect(session.state).toBe(state);
  });
}

describe('GET /api/v1/machines/session', () => {
  it('answers the definition with exactly the four states and the events, and Mermaid text', async () => {
    const response = await get('/api/v1/machines/session');
    expect(response.status).toBe(200);
    const { machine, mermaid } = (await response.json()) as { machine: MachineJson; mermaid: string };
    expect(machine.id).toBe('session');
    expect(machine.initial).toBe('idle');
    expect(machine.states.map((state) => state.key).sort()).toEqual([...SESSION_STATES].sort());
    expect([...machine.events].sort()).toEqual([...EVENTS].sort());

    const running = machine.states.find((state) => state.key === 'running')!;
    expect(running.invoke).toEqual([{ id: 'run', src: 'agentRun' }]);
    expect(running.transitions.filter((t) => t.target !== null).map((t) => [t.label, t.target])).toEqual(
      expect.arrayContaining([['cancel', 'idle'], ['onDone(run)', 'completed'], ['onDone(run)', 'awaitingUser'], ['onDone(run)', 'idle']]),
    );
    const idle = machine.states.find((state) => state.key === 'idle')!;
    expect(idle.transitions.find((t) => t.target === 'running' && t.event === 'resume')).toMatchObject({ event: 'resume', guard: 'hasPendingWork', actions: ['startRun'] });
    const answer = machine.states.find((state) => state.key === 'awaitingUser')!.transitions.find((t) => t.target !== null && t.event === 'question.answer');
    expect(answer).toMatchObject({ event: 'question.answer', target: 'idle', guard: 'isValidAnswer' });

    expect(mermaid.startsWith('stateDiagram-v2\n')).toBe(true);
    expect(mermaid).toContain('[*] --> idle');
    expect(mermaid).toContain('idle --> running : resume [hasPendingWork] / startRun');
    expect(mermaid).toContain('completed --> idle : message.append [else] / appendUserMessage');
    for (const state of SESSION_STATES) expect(mermaid).toMatch(new RegExp(`^  ${state}\\b`, 'm'));
  });

  it('refuses other methods with 405', async () => {
    const response = await get('/api/v1/machines/session', { method: 'POST' });
    expect(response.status).toBe(405);
    expect(await response.json()).toMatchObject({ error: { code: 'method_not_allowed' } });
  });
});

describe('GET /api/v1/machines/session.svg', () => {
  it('is a valid SVG naming every state, with none highlighted', async () => {
    const response = await get('/api/v1/machines/session.svg');
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toMatch(/^image\/svg\+xml/);
    const svg = await response.text();
    expectWellFormedSvg(svg);
    expect(svg).toContain('xmlns="http://www.w3.org/2000/svg"');
    for (const state of SESSION_STATES) expect(svg).toContain(`<title>${state}</title>`);
    expect(currentState(svg)).toBeUndefined();
  });
});

describe('GET /api/v1/sessions/:id/diagram.svg', () => {
  it('highlights the session’s current state, and changes with it', async () => {
    const id = await createSession();
    const idle = await (await get(`/api/v1/sessions/${id}/diagram.svg`)).text();
    expectWellFormedSvg(idle);
    expect(currentState(idle)).toBe('idle');

    await get(`/api/v1/sessions/${id}/messages`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify({ content: '/ask Pick one | red | blue' }),
    });
    await waitForState(id, 'awaitingUser');
    const response = await get(`/api/v1/sessions/${id}/diagram.svg`);
    expect(response.headers.get('content-type')).toMatch(/^image\/svg\+xml/);
    expect(response.headers.get('cache-control')).toBe('no-store');
    const awaiting = await response.text();
    expect(currentState(awaiting)).toBe('awaitingUser');
    expect(awaiting).not.toBe(idle);
    for (const state of SESSION_STATES) expect(awaiting).toContain(`<title>${state}</title>`);
  });

  it('answers 404 session_not_found in the error envelope for an unknown session', async () => {
    const response = await get('/api/v1/sessions/ses_missing/diagram.svg');
    expect(response.status).toBe(404);
    expect(response.headers.get('content-type')).toMatch(/^application\/json/);
    expect(await response.json()).toEqual({ error: { code: 'session_not_found', message: 'No session with id ses_missing' } });
  });
});

describe('diagram generation', () => {
  it('follows any machine definition, nested states included', async () => {
    const machine = createMachine({
      id: 'door',
      initial: 'closed',
      states: {
        closed: { on: { OPEN: { target: 'open', guard: 'unlocked' }, KNOCK: { actions: 'answer' } } },
        open: {
          initial: 'swinging',
          states: { swinging: { on: { STOP: 'still' } }, still: {} },
          on: { CLOSE: 'closed' },
        },
      },
    });
    const json = machineJson(machine);
    expect(json.states.map((state) => state.path)).toEqual(['closed', 'open']);
    expect(json.states[1]!.states.map((state) => state.path)).toEqual(['open.swinging', 'open.still']);
    expect(json.events).toEqual(['OPEN', 'KNOCK', 'CLOSE', 'STOP']);

    const mermaid = toMermaid(json);
    expect(mermaid).toContain('closed --> open : OPEN [unlocked]');
    expect(mermaid).toContain('closed : KNOCK / answer');
    expect(mermaid).toContain('state open {');
    expect(mermaid).toContain('open__swinging --> open__still : STOP');

    expect(toDot(json)).toContain('lhead="cluster_open"');
    const svg = await machineSvg(machine, 'closed');
    expectWellFormedSvg(svg);
    expect(currentState(svg)).toBe('closed');
    expect(await machineSvg(machine, 'closed')).toBe(svg);
  });

  it('renders the session machine the same way the route does', async () => {
    const fromRoute = await (await get('/api/v1/machines/session.svg')).text();
    expect(await machineSvg(sessionMachine)).toBe(fromRoute);
  });
});

// ---- Transition priority, read straight from the machine object (never from a hand-written list) ----

function stateNodes(machine: AnyStateMachine): AnyStateNode[] {
  const out: AnyStateNode[] = [];
  const visit = (node: AnyStateNode) => {
    out.push(node);
    Object.values(node.states).forEach(visit);
  };
  Object.values(machine.root.states).forEach(visit);
  return out;
}

/** The named guards a transition's guard is made of (`and([a, b])` → [a, b]). */
function guardNames(guard: unknown): string[] {
  if (guard === undefined || guard === null) return [];
  if (typeof guard === 'string') return [guard];
  const inner = (guard as { guards?: unknown[] }).guards;
  if (typeof guard === 'function' && inner) return inner.flatMap(guardNames);
  if (typeof guard === 'object' && 'type' in guard) return [String(guard.type)];
  return ['inline'];
}

const eventLabel = (event: string) =>
  event.replace(/^xstate\.done\.actor\.(.+)$/, 'onDone($1)').replace(/^xstate\.error\.actor\.(.+)$/, 'onError($1)');

/** An action as the diagrams name it: its type, whether given as a string or with params; 'inline' for a function. */
function actionName(action: unknown): string {
  if (typeof action === 'string') return action;
  if (typeof action === 'object' && action !== null && 'type' in action && typeof action.type === 'string') return action.type;
  return 'inline';
}

interface Line {
  event: string;
  guard: string | null;
  target: string | null;
  actions: string;
}

/** A state's transition lines in Mermaid text order (invoke descriptions left out). */
function mermaidLines(mermaid: string, node: AnyStateNode): Line[] {
  const id = node.path.join('__');
  const invokes = new Set(node.invoke.map((invoke) => `invoke ${String(invoke.src)} (id: ${invoke.id})`));
  const out: Line[] = [];
  for (const raw of mermaid.split('\n')) {
    const match = new RegExp(`^\\s*${id}(?: --> (\\S+))? : (.*)$`).exec(raw);
    if (!match || (!match[1] && invokes.has(match[2]!))) continue;
    const caption = /^(\S+)(?: \[([^\]]*)\])?(?: \/ (.*))?$/.exec(match[2]!)!;
    out.push({ event: caption[1]!, guard: caption[2] ?? null, target: match[1] ?? null, actions: caption[3] ?? '' });
  }
  return out;
}

/** For every state: the Mermaid lines are exactly the machine's transitions, in the machine's own priority order. */
function expectMermaidInMachineOrder(machine: AnyStateMachine): number {
  const mermaid = toMermaid(machineJson(machine));
  let checked = 0;
  for (const node of stateNodes(machine)) {
    const lines = mermaidLines(mermaid, node);
    let index = 0;
    for (const [event, definitions] of node.transitions) {
      definitions.forEach((definition, position) => {
        const targets = definition.target?.map((target) => target.path.join('__')) ?? [null];
        for (const target of targets) {
          const line = lines[index++];
          const where = `${node.path.join('.')} ${event} #${position + 1} → ${target}`;
          expect(line, where).toBeDefined();
          expect(line!.event, where).toBe(eventLabel(event));
          expect(line!.target, where).toBe(target);
          expect(line!.actions, where).toBe(definition.actions.map(actionName).join(', '));
          const names = guardNames(definition.guard);
          if (names.length === 0) expect(line!.guard === null || line!.guard === 'else', where).toBe(true);
          else for (const name of names) expect(line!.guard, where).toContain(name);
          checked++;
        }
      });
    }
    expect(lines.length, node.path.join('.')).toBe(index);
  }
  return checked;
}

describe('Mermaid transition order', () => {
  it('lists every state’s transitions in the session machine’s priority order', () => {
    expect(expectMermaidInMachineOrder(sessionMachine)).toBeGreaterThan(0);
  });

  it('keeps a guarded transition that stays put after an earlier one that leaves, nested states too', () => {
    // The shape that was printed out of order: the winning guard leaves, the fallback guards stay put.
    const machine = createMachine({
      id: 'order',
      initial: 'asking',
      states: {
        asking: {
          on: {
            ANSWER: [
              { guard: and(['isOpen', 'isAllowed']), target: 'done', actions: 'record' },
              { guard: 'isOpen', actions: 'rejectInvalid' },
              { guard: 'isReplay', target: 'done.late' },
              { actions: 'reject' },
            ],
          },
        },
        done: {
          initial: 'early',
          states: { early: { on: { TICK: [{ guard: 'slow', actions: 'wait' }, { target: 'late' }] } }, late: {} },
        },
      },
    });
    expect(expectMermaidInMachineOrder(machine)).toBe(6);
    const asking = toMermaid(machineJson(machine)).split('\n').filter((line) => line.includes('ANSWER'));
    expect(asking).toEqual([
      '  asking --> done : ANSWER [isOpen && isAllowed] / record',
      '  asking : ANSWER [isOpen] / rejectInvalid',
      '  asking --> done__late : ANSWER [isReplay]',
      '  asking : ANSWER [else] / reject',
    ]);
  });
});

describe('compact diagrams', () => {
  it('draws every state and every state-changing event, without guards or actions', async () => {
    const json = machineJson(sessionMachine);
    const compact = await machineSvg(sessionMachine, undefined, { detail: 'compact' });
    const full = await machineSvg(sessionMachine);
    expectWellFormedSvg(compact);
    expect(compact).toContain('class="graph diagram&#45;compact"');
    expect(full).toContain('class="graph diagram&#45;full"');
    const texts = svgTexts(compact);
    for (const state of json.states) expect(texts).toContain(state.key);
    // Every event into another state, in full or as `.member` below its family's name.
    const leaving = json.states.flatMap((state) => state.transitions.filter((t) => t.target !== null && t.target !== state.path));
    expect(leaving.length).toBeGreaterThan(0);
    for (const { label } of leaving) {
      const member = label.includes('.') ? `.${label.slice(label.indexOf('.') + 1)}` : label;
      expect(texts.some((text) => text.trim() === label || text.trim() === member), label).toBe(true);
    }
    const guardsAndActions = json.states.flatMap((state) => state.transitions.flatMap((t) => [...(t.guard ? [t.guard] : []), ...t.actions]));
    expect(guardsAndActions.length).toBeGreaterThan(0);
    for (const name of guardsAndActions) expect(compact).not.toContain(name);
    // Far narrower than the full picture, so it fits a sidebar at a readable scale.
    expect(svgWidth(compact)).toBeLessThan(svgWidth(full) * 0.6);
  });

  it('highlights the current state like the full diagram, and caches per detail', async () => {
    const compact = await machineSvg(sessionMachine, 'running', { detail: 'compact' });
    expect(currentState(compact)).toBe('running');
    expect(await machineSvg(sessionMachine, 'running', { detail: 'compact' })).toBe(compact);
    expect(await machineSvg(sessionMachine, 'running')).not.toBe(compact);
  });

  it('reads a query value as a detail level, defaulting to full', () => {
    expect(diagramDetail('compact')).toBe('compact');
    expect(diagramDetail('full')).toBe('full');
    expect(diagramDetail(undefined)).toBe('full');
    expect(diagramDetail(['compact'])).toBe('full');
  });
});
