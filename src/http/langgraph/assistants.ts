/**
 * Assistants: one per agent, named after it (`assistant_id` = `graph_id` =
 * the agent's name). Agents are code, so assistants are read-only. Their
 * graph is the session statechart, as LangGraph draws graphs: states are
 * nodes, transitions are edges labelled with their event, guarded ones
 * conditional.
 */
import type { Router } from 'express';
import { sessionMachine } from '../../../machines/session.machine.js';
import { allStates, machineJson } from '../../diagrams/index.js';
import { parse } from '../validation.js';
import { LangGraphError, notProvided, otherMethods } from './errors.js';
import { assistantCountBody, assistantSearchBody, contains } from './schemas.js';
import { assistantView, selectFields } from './views.js';

export function assistantRoutes(router: Router, agentNames: readonly string[]): void {
  const since = new Date().toISOString();
  const all = () => agentNames.map((agent) => assistantView(agent, since));
  const one = (id: string) => {
    if (!agentNames.includes(id)) throw new LangGraphError(404, `Assistant ${id} not found`);
    return assistantView(id, since);
  };
  const matching = (query: { graph_id?: string | null; name?: string | null; metadata?: Record<string, unknown> | null }) =>
    all().filter(
      (assistant) =>
        (!query.graph_id || assistant.graph_id === query.graph_id) &&
        (!query.name || assistant.name.includes(query.name)) &&
        (!query.metadata || contains(assistant.metadata, query.metadata)),
    );

  router.post('/assistants/search', (req, res) => {
    const query = parse(assistantSearchBody, req.body ?? {}, 'body');
    const found = matching(query);
    const key = query.sort_by ?? 'created_at';
    found.sort((a, b) => String(a[key]).localeCompare(String(b[key])) * (query.sort_order === 'asc' ? 1 : -1));
    const offset = query.offset ?? 0;
    const page = found.slice(offset, offset + (query.limit ?? 10));
    if (offset + page.length < found.length) res.setHeader('X-Pagination-Next', String(offset + page.length));
    res.json(query.select ? page.map((assistant) => selectFields(assistant, query.select!)) : page);
  });
  router.post('/assistants/count', (req, res) => {
    res.json(matching(parse(assistantCountBody, req.body ?? {}, 'body')).length);
  });
  router.all('/assistants', notProvided('Creating assistants (assistants are the server\'s agents)'));

  router.route('/assistants/:id').get((req, res) => {
    res.json(one(req.params.id));
  }).all(otherMethods(['GET'], 'on an assistant (assistants are the server\'s agents)'));

  router.get('/assistants/:id/graph', (req, res) => {
    one(req.params.id);
    res.json(graph());
  });
  router.get('/assistants/:id/schemas', (req, res) => {
    one(req.params.id);
    res.json(schemas(req.params.id));
  });
  router.get('/assistants/:id/subgraphs', (req, res) => {
    one(req.params.id);
    res.json({});
  });
  router.all(['/assistants/:id/versions', '/assistants/:id/latest'], notProvided('Assistant versions'));
}

interface Edge {
  source: string;
  target: string;
  /** The event that takes it. */
  data?: string;
  conditional: boolean;
}

/** The statechart as LangGraph's graph JSON, from the machine itself. */
function graph() {
  const json = machineJson(sessionMachine);
  const states = allStates(json);
  const nodes = [
    { id: '__start__', type: 'schema', data: '__start__' },
    ...states.map((state) => ({ id: state.path, type: 'runnable', data: { id: ['bamboo', 'session', state.path], name: state.key }, metadata: { invoke: state.invoke.map((i) => i.src) } })),
  ];
  const edges: Edge[] = json.initial ? [{ source: '__start__', target: json.initial, conditional: false }] : [];
  for (const state of states) {
    for (const transition of state.transitions) {
      if (transition.target === null) continue;
      edges.push({ source: state.path, target: transition.target, data: transition.label, conditional: transition.guard !== null });
    }
  }
  return { nodes, edges };
}

const MESSAGES_SCHEMA = {
  type: 'object',
  properties: { messages: { type: 'array', items: { type: 'object' } } },
};

function schemas(graphId: string) {
  return { graph_id: graphId, input_schema: MESSAGES_SCHEMA, output_schema: MESSAGES_SCHEMA, state_schema: MESSAGES_SCHEMA, config_schema: null, context_schema: null };
}
