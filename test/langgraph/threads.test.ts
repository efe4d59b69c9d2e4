/** Assistants, threads, API keys and the parts of LangGraph's API that Bamboo leaves out, through the SDK. */
import { Client } from '@langchain/langgraph-sdk';
import { afterEach, describe, expect, it } from 'vitest';
import { API, cleanup, tempDb } from '../http/helpers.js';
import { packageVersion } from '../../src/cli/version.js';
import { SqliteStore } from '../../src/storage/sqlite/sqlite-store.js';
import { failure, fillThread, humanInput, startLangGraph } from './helpers.js';

afterEach(cleanup);

describe('assistants', () => {
  it('one per agent, read-only, with the session statechart as its graph', async () => {
    const { client } = await startLangGraph();
    const assistants = await client.assistants.search();
    expect(assistants.map((assistant) => [assistant.assistant_id, assistant.graph_id])).toEqual([['demo', 'demo']]);
    expect(await client.assistants.search({ graphId: 'other' })).toEqual([]);
    expect(await client.assistants.get('demo')).toMatchObject({ assistant_id: 'demo', name: 'demo', version: 1 });
    expect((await failure(client.assistants.get('nobody'))).status).toBe(404);

    const graph = await client.assistants.getGraph('demo');
    expect(graph.nodes.map((node) => node.id)).toEqual(['__start__', 'idle', 'running', 'awaitingUser', 'completed']);
    expect(graph.edges).toContainEqual({ source: '__start__', target: 'idle', conditional: false });
    expect(graph.edges).toContainEqual({ source: 'idle', target: 'running', data: 'resume', conditional: true });
    expect(graph.edges).toContainEqual({ source: 'running', target: 'awaitingUser', data: 'onDone(run)', conditional: true });
    expect(graph.edges).toContainEqual({ source: 'awaitingUser', target: 'idle', data: 'question.answer', conditional: true });
    expect(await client.assistants.getSubgraphs('demo')).toEqual({});
    expect((await client.assistants.getSchemas('demo')).state_schema).toMatchObject({ properties: { messages: { type: 'array' } } });
    expect((await failure(client.assistants.create({ graphId: 'demo' }))).status).toBe(404);
    expect((await failure(client.assistants.delete('demo'))).status).toBe(405);
  });
});

describe('threads', () => {
  it('create, get, search by metadata and status with limit and offset, delete', async () => {
    const { client, server } = await startLangGraph();
    const ann = await Promise.all([1, 2, 3].map((n) => client.threads.create({ metadata: { user: 'ann', n } })));
    const bob = await client.threads.create({ metadata: { user: 'bob' }, graphId: 'demo' });
    // A thread is a session: the native API shows it.
    const native = (await server.call('GET', `${API}/sessions/${bob.thread_id}`)).body.session;
    expect(native).toMatchObject({ id: bob.thread_id, agent: 'demo', metadata: { user: 'bob' }, state: 'idle' });

    const found = await client.threads.search({ metadata: { user: 'ann' } });
    expect(found.map((thread) => thread.thread_id)).toEqual(ann.map((thread) => thread.thread_id).reverse());
    const page = await client.threads.search({ metadata: { user: 'ann' }, limit: 1, offset: 1 });
    expect(page.map((thread) => thread.thread_id)).toEqual([ann[1].thread_id]);
    const oldest = await client.threads.search({ metadata: { user: 'ann' }, sortBy: 'created_at', sortOrder: 'asc', limit: 1 });
    expect(oldest[0].thread_id).toBe(ann[0].thread_id);
    expect(await client.threads.count({ metadata: { user: 'ann' } })).toBe(3);

    await client.runs.wait(ann[0].thread_id, 'demo', { input: humanInput('/ask Ok? | yes | no') });
    const interrupted = await client.threads.search({ status: 'interrupted' });
    expect(interrupted.map((thread) => thread.thread_id)).toEqual([ann[0].thread_id]);
    expect(interrupted[0].values).toMatchObject({ messages: [{ type: 'human' }] });
    expect((await client.threads.search({ status: 'idle' })).map((thread) => thread.thread_id)).not.toContain(ann[0].thread_id);
    const bare = await client.threads.search({ ids: [bob.thread_id], select: ['thread_id', 'status'] });
    expect(bare).toEqual([{ thread_id: bob.thread_id, status: 'idle' }]);

    await client.threads.delete(bob.thread_id);
    expect((await failure(client.threads.get(bob.thread_id))).status).toBe(404);
    expect((await failure(client.threads.getState(bob.thread_id))).status).toBe(404);
    expect((await failure(client.runs.create(bob.thread_id, 'demo', { input: humanInput('hi') }))).status).toBe(404);
  });

  it('a new thread has an empty state and no history; a thread belongs to its assistant', async () => {
    const { client } = await startLangGraph();
    const thread = await client.threads.create();
    const state = await client.threads.getState(thread.thread_id);
    expect(state).toMatchObject({ values: { messages: [] }, next: [], tasks: [], checkpoint: { checkpoint_id: null } });
    expect(await client.threads.getHistory(thread.thread_id)).toEqual([]);
    expect((await failure(client.runs.create(thread.thread_id, 'nobody', { input: humanInput('hi') }))).status).toBe(404);
    expect((await failure(client.threads.create({ graphId: 'nobody' }))).status).toBe(422);
    // Thread ids are Bamboo's: an existing one answers 409 (or itself with if_exists do_nothing), a new one cannot be chosen.
    expect((await failure(client.threads.create({ threadId: thread.thread_id }))).status).toBe(409);
    expect((await client.threads.create({ threadId: thread.thread_id, ifExists: 'do_nothing' })).thread_id).toBe(thread.thread_id);
    expect((await failure(client.threads.create({ threadId: '3f4c64e0-f792-4a5e-aa07-a4404e06e0bd' }))).status).toBe(422);
  });

  it('a state\'s parent_checkpoint is the one its entry in the history names: the turn before', async () => {
    const { client } = await startLangGraph();
    const thread = await client.threads.create();
    const newest = async () => {
      const [state, history] = await Promise.all([client.threads.getState(thread.thread_id), client.threads.getHistory(thread.thread_id)]);
      expect(state.checkpoint).toEqual(history[0]!.checkpoint);
      expect(state.parent_checkpoint).toEqual(history[0]!.parent_checkpoint);
      return history;
    };
    await client.runs.wait(thread.thread_id, 'demo', { input: humanInput('one') });
    expect((await newest())[0]!.parent_checkpoint).toBeNull();
    await client.runs.wait(thread.thread_id, 'demo', { input: humanInput('/ask Ok? | yes | no') });
    const asked = await newest();
    expect(asked).toHaveLength(2);
    expect(asked[0]!.parent_checkpoint!.checkpoint_id).toBe(asked[1]!.checkpoint.checkpoint_id);
    await client.runs.wait(thread.thread_id, 'demo', { command: { resume: 'yes' } });
    const answered = await newest();
    expect(answered).toHaveLength(3);
    expect(answered[0]!.parent_checkpoint!.checkpoint_id).toBe(asked[0]!.checkpoint.checkpoint_id);
    // A turn under way: the present's parent is the last turn closed.
    const run = await client.runs.create(thread.thread_id, 'demo', { input: humanInput('/sleep 10000') });
    await expect.poll(async () => (await client.threads.get(thread.thread_id)).status).toBe('busy');
    expect((await newest())[0]!.parent_checkpoint!.checkpoint_id).toBe(answered[0]!.checkpoint.checkpoint_id);
    await client.runs.cancel(thread.thread_id, run.run_id, true);
  });

  it('a long thread\'s state holds its latest messages up to 4 MiB, and a page of history stops at about that size', async () => {
    const { client, server } = await startLangGraph({ tokenDelayMs: 0 });
    const thread = await client.threads.create();
    // 25 turns of 100 KB each way: about 5 MB of transcript.
    await fillThread(server, thread.thread_id, 25, 'x'.repeat(99_000));
    const state = await client.threads.getState<{ messages: { content: string }[] }>(thread.thread_id);
    const kept = state.values.messages;
    expect(kept.length).toBeGreaterThan(10);
    expect(kept.length).toBeLessThan(50);
    expect(kept.at(-1)!.content).toMatch(/^Echo: 24 /);
    expect(JSON.stringify(state).length).toBeLessThan(4.5 * 1024 * 1024);
    const history = await client.threads.getHistory(thread.thread_id, { limit: 10 });
    expect(history.length).toBeGreaterThanOrEqual(1);
    expect(history.length).toBeLessThan(10);
    expect(JSON.stringify(history).length).toBeLessThan(9 * 1024 * 1024);
    expect(history[0]!.checkpoint.checkpoint_id).toBe(state.checkpoint.checkpoint_id);
  }, 60_000);

  it('values and history pages count UTF-8 bytes, as sent: text of two bytes a character fills them twice as fast', async () => {
    const { client, server } = await startLangGraph({ tokenDelayMs: 0 });
    // Each message about 200 KB in UTF-8 (100 K characters): 11 turns are 22 messages, about 4.4 MB.
    const long = await client.threads.create();
    await fillThread(server, long.thread_id, 11, 'é'.repeat(99_000));
    const utf8 = (value: unknown) => Buffer.byteLength(JSON.stringify(value));
    const state = await client.threads.getState<{ messages: { content: string }[] }>(long.thread_id);
    expect(state.values.messages.length).toBeLessThan(22);
    expect(state.values.messages.at(-1)!.content).toMatch(/^Echo: 10 /);
    expect(utf8(state.values)).toBeLessThan(4 * 1024 * 1024 + 1024);
    const thread = await client.threads.get<{ messages: unknown[] }>(long.thread_id);
    expect(thread.values.messages).toHaveLength(state.values.messages.length);

    // 5 turns: states of about 2, 1.6, 1.2, 0.8 and 0.4 MB; a page holds the first two (its first always in).
    const short = await client.threads.create();
    await fillThread(server, short.thread_id, 5, 'é'.repeat(99_000));
    const history = await client.threads.getHistory(short.thread_id, { limit: 10 });
    expect(history).toHaveLength(2);
    expect(utf8(history)).toBeLessThan(4 * 1024 * 1024 + 1024);
  }, 60_000);

  it('a search page\'s values share one 4 MiB budget in order: the first threads carry their latest messages, later ones fewer', async () => {
    // Which of the store's message reads serve them: the whole transcript is read page by page with readMessages.
    const reads: string[] = [];
    const store = new SqliteStore(tempDb());
    const counting = new Proxy(store, {
      get(target, property, receiver) {
        const value = Reflect.get(target, property, receiver) as unknown;
        if (property === 'readMessages' || property === 'readRecentMessages') reads.push(property);
        return typeof value === 'function' ? (value as (...args: unknown[]) => unknown).bind(target) : value;
      },
    });
    const { client, server } = await startLangGraph({ tokenDelayMs: 0, store: counting });
    // Three threads of 8 messages of about 200 KB in UTF-8 each (1.6 MB a thread): together past 4 MiB.
    const threads = [];
    for (let i = 0; i < 3; i++) {
      const thread = await client.threads.create();
      await fillThread(server, thread.thread_id, 4, 'é'.repeat(99_000));
      threads.push(thread);
    }
    reads.length = 0;
    const found = await client.threads.search<{ messages: { content: string }[] }>();
    expect(found.map((thread) => thread.thread_id)).toEqual(threads.map((thread) => thread.thread_id).reverse());
    // One thread at a time, each from the end of its transcript.
    expect(reads).toEqual(['readRecentMessages', 'readRecentMessages', 'readRecentMessages']);
    const kept = found.map((thread) => thread.values.messages);
    expect(kept.map((messages) => messages.length).slice(0, 2)).toEqual([8, 8]);
    // What is left of the budget holds the last thread's latest four or five messages.
    expect(kept[2]!.length).toBeGreaterThan(2);
    expect(kept[2]!.length).toBeLessThan(8);
    expect(kept[2]!.at(-1)!.content).toMatch(/^Echo: 3 /);
    expect(Buffer.byteLength(JSON.stringify(found))).toBeLessThan(4 * 1024 * 1024 + 16 * 1024);
    // Alone on its page, a thread carries its whole transcript.
    const alone = await client.threads.search<{ messages: unknown[] }>({ ids: [threads[0]!.thread_id] });
    expect(alone[0]!.values.messages).toHaveLength(8);
    // Without values selected, none are read or sent.
    reads.length = 0;
    expect(await client.threads.search({ select: ['thread_id'] })).toEqual(threads.map((thread) => ({ thread_id: thread.thread_id })).reverse());
    expect(reads).toEqual([]);
    // Nor does a thread or its state read the whole transcript.
    await client.threads.get(threads[0]!.thread_id);
    await client.threads.getState(threads[0]!.thread_id);
    expect(reads).toEqual(['readRecentMessages', 'readRecentMessages']);
  }, 60_000);

  it('a search page leaves out a thread deleted between listing it and reading its values', async () => {
    const store = new SqliteStore(tempDb());
    let onFirstRead: (() => Promise<unknown>) | undefined;
    const deleting = new Proxy(store, {
      get(target, property, receiver) {
        const value = Reflect.get(target, property, receiver) as unknown;
        if (property === 'readRecentMessages' && onFirstRead) {
          const before = onFirstRead;
          onFirstRead = undefined;
          return async (...args: Parameters<SqliteStore['readRecentMessages']>) => {
            await before();
            return target.readRecentMessages(...args);
          };
        }
        return typeof value === 'function' ? (value as (...args: unknown[]) => unknown).bind(target) : value;
      },
    });
    const { client } = await startLangGraph({ tokenDelayMs: 0, store: deleting });
    const gone = await client.threads.create();
    const kept = await client.threads.create();
    // Newest first: while the page reads the first thread's values, the second is deleted.
    onFirstRead = () => client.threads.delete(gone.thread_id);
    const found = await client.threads.search();
    expect(found.map((thread) => thread.thread_id)).toEqual([kept.thread_id]);
  });

  it('what Bamboo leaves out answers a clear 404, 405 or 422, never a 5xx the SDK would retry', async () => {
    const { client, apiUrl } = await startLangGraph();
    const thread = await client.threads.create();
    const refusals: [() => Promise<unknown>, number][] = [
      [() => client.threads.update(thread.thread_id, { metadata: { a: 1 } }), 405],
      [() => client.threads.updateState(thread.thread_id, { values: { messages: [] } }), 405],
      [() => client.threads.copy(thread.thread_id), 404],
      [() => client.crons.create('demo', { schedule: '* * * * *' }), 404],
      [() => client.crons.search(), 404],
      [() => client.store.putItem(['ns'], 'key', { a: 1 }), 404],
      [() => client.store.getItem(['ns'], 'key'), 404],
      [() => client.runs.wait(null, 'demo', { input: humanInput('stateless') }), 404],
      [() => client.threads.search({ values: { messages: [] } }), 422],
    ];
    for (const [call, status] of refusals) {
      const refusal = await failure(call());
      expect(refusal.status).toBe(status);
      expect(refusal.detail).toMatch(/not supported by Bamboo/);
    }
    const malformed = await fetch(`${apiUrl}/threads`, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: '{"metadata":' });
    expect(malformed.status).toBe(422);
    expect(await malformed.json()).toEqual({ detail: 'body: malformed JSON' });
  });
});

describe('API keys', () => {
  const ACME = 'acme-key-0123456789abcdefghij';
  const BETA = 'beta-key-0123456789abcdefghij';

  it('apply here too: x-api-key (the SDK\'s apiKey) and Authorization: Bearer both work; tenants do not see each other', async () => {
    const { apiUrl } = await startLangGraph({ access: { apiKeys: [{ tenant: 'acme', key: ACME }, { tenant: 'beta', key: BETA }] } });
    const anonymous = new Client({ apiUrl, apiKey: null });
    const unauthorized = await failure(anonymous.assistants.search());
    expect(unauthorized.status).toBe(401);
    expect((await failure(new Client({ apiUrl, apiKey: 'wrong-key-0123456789abcdefghij' }).threads.create())).status).toBe(401);

    const acme = new Client({ apiUrl, apiKey: ACME });
    const thread = await acme.threads.create({ metadata: { owner: 'acme' } });
    const viaBearer = new Client({ apiUrl, apiKey: null, defaultHeaders: { Authorization: `Bearer ${ACME}` } });
    expect((await viaBearer.threads.get(thread.thread_id)).metadata).toMatchObject({ owner: 'acme' });
    const done: any = await viaBearer.runs.wait(thread.thread_id, 'demo', { input: humanInput('hi') });
    expect(done.messages.at(-1).content).toBe('Echo: hi');

    const beta = new Client({ apiUrl, apiKey: BETA });
    expect((await failure(beta.threads.get(thread.thread_id))).status).toBe(404);
    expect(await beta.threads.search()).toEqual([]);
    expect((await failure(beta.runs.create(thread.thread_id, 'demo', { input: humanInput('mine now') }))).status).toBe(404);
  });

  it('leave /ok and /info public, as LangGraph does: clients call them to see a server answers and what it offers', async () => {
    const { apiUrl } = await startLangGraph({ access: { apiKeys: [{ tenant: 'acme', key: ACME }] } });
    const ok = await fetch(`${apiUrl}/ok`);
    expect(ok.status).toBe(200);
    expect(await ok.json()).toEqual({ ok: true });
    const info = await fetch(`${apiUrl}/info`);
    expect(info.status).toBe(200);
    expect(await info.json()).toEqual({ version: packageVersion(), flags: { assistants: true, crons: false, langsmith: false } });
    expect((await fetch(`${apiUrl}/threads/search`, { method: 'POST' })).status).toBe(401);
  });
});
