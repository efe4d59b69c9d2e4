/**
 * Messages while the session is busy, by strategy, in each state, through a
 * real server: reject, enqueue (in arrival order, also a hundred at once, also
 * across a restart), interrupt (the partial reply kept) and rollback (the
 * superseded turn removed from the transcript).
 */
import { afterEach, describe, expect, it, vi } from 'vitest';
import type { Agent } from '../../src/agents/agent.js';
import { sleep as pause } from '../../src/agents/agent.js';
import { API, allEvents, allMessages, cleanup, createSession, expectError, startServer, tempDb, waitForSession, waitForState, type Json, type TestServer } from './helpers.js';

afterEach(cleanup);

/** Streams `/slow N …` as N tokens, one every 20 ms; anything else is echoed at once. */
const slow: Agent = {
  async run(ctx) {
    const last = ctx.messages.at(-1)?.content ?? '';
    const count = Number(/^\/slow (\d+)(?: |$)/.exec(last)?.[1] ?? 0);
    if (count === 0) return { kind: 'completed', message: `Echo: ${last}` };
    let text = '';
    for (let i = 0; i < count; i++) {
      await pause(20, ctx.signal);
      const token = `t${i} `;
      text += token;
      await ctx.emit({ type: 'token', text: token });
    }
    return { kind: 'completed', message: text };
  },
};

const send = (server: TestServer, id: string, content: string, strategy?: string) =>
  server.call('POST', `${API}/sessions/${id}/messages`, { json: { content, ...(strategy ? { multitask_strategy: strategy } : {}) } });

async function slowServer(dbPath?: string): Promise<TestServer> {
  return startServer({ agents: { slow }, defaultAgent: 'slow', ...(dbPath ? { dbPath } : {}) });
}

describe('in idle (and completed), every strategy is a plain message', () => {
  it.each(['reject', 'enqueue', 'interrupt', 'rollback'])('%s: 202 Started, the message joins the transcript', async (strategy) => {
    const server = await slowServer();
    const session = await createSession(server);
    for (const content of ['first', 'second']) {
      const reply = await send(server, session.id, content, strategy);
      expect(reply.status, reply.text).toBe(202);
      expect(reply.body).toMatchObject({ outcome: 'Started', message: { content } });
      await waitForState(server, session.id, 'completed');
    }
    expect((await allMessages(server, session.id)).map((m: Json) => m.content)).toEqual(['first', 'Echo: first', 'second', 'Echo: second']);
  });
});

describe('while running', () => {
  it('reject: 409 session_busy with the run_id; nothing stored', async () => {
    const server = await slowServer();
    const session = await createSession(server);
    const started = await send(server, session.id, '/slow 20');
    expectError(await send(server, session.id, 'me too', 'reject'), 409, 'session_busy', { run_id: started.body.run_id });
    expectError(await send(server, session.id, 'me too'), 409, 'session_busy');
    await waitForState(server, session.id, 'completed');
    expect(await allMessages(server, session.id)).toHaveLength(2);
  });

  it('enqueue: Queued with positions; the queue runs in order after the run; DELETE takes one back', async () => {
    const server = await slowServer();
    const session = await createSession(server);
    await send(server, session.id, '/slow 10');
    const replies = [];
    for (const content of ['a', 'b', 'c']) replies.push(await send(server, session.id, content, 'enqueue'));
    expect(replies.map((r) => [r.status, r.body.outcome, r.body.position])).toEqual([
      [202, 'Queued', 1],
      [202, 'Queued', 2],
      [202, 'Queued', 3],
    ]);
    const view = (await server.call('GET', `${API}/sessions/${session.id}`)).body.session;
    expect(view.queued.map((q: Json) => q.content)).toEqual(['a', 'b', 'c']);
    expect((await server.call('DELETE', `${API}/sessions/${session.id}/queue/${replies[1]!.body.message.id}`)).status).toBe(204);
    expectError(await server.call('DELETE', `${API}/sessions/${session.id}/queue/${replies[1]!.body.message.id}`), 404, 'queued_message_not_found');

    await waitForSession(server, session.id, (s) => s.state === 'completed' && s.queued.length === 0);
    const messages = (await allMessages(server, session.id)).map((m: Json) => m.content);
    expect(messages.slice(2)).toEqual(['a', 'Echo: a', 'c', 'Echo: c']);
    const events = await allEvents(server, session.id);
    expect(events.filter((e: Json) => e.type === 'message_queued').map((e: Json) => e.position)).toEqual([1, 2, 3]);
    expect(events.filter((e: Json) => e.type === 'message_dequeued').map((e: Json) => e.message_id)).toEqual([replies[1]!.body.message.id]);
  });

  it('enqueue: a full queue is 409 queue_full', async () => {
    const server = await startServer({ agents: { slow }, defaultAgent: 'slow', maxQueued: 2 });
    const session = await createSession(server);
    await send(server, session.id, '/slow 20');
    await send(server, session.id, 'a', 'enqueue');
    await send(server, session.id, 'b', 'enqueue');
    expectError(await send(server, session.id, 'c', 'enqueue'), 409, 'queue_full', { limit: 2 });
  });

  it('interrupt: the run is cancelled, its partial reply kept (interrupted: true), the new message runs at once', async () => {
    const server = await slowServer();
    const session = await createSession(server);
    const first = await send(server, session.id, '/slow 50');
    await waitForSession(server, session.id, (s) => s.last_event_seq >= 8);
    const now = await send(server, session.id, 'do this instead', 'interrupt');
    expect(now.status).toBe(202);
    expect(now.body).toMatchObject({ outcome: 'Started' });
    expect(now.body.run_id).not.toBe(first.body.run_id);
    await waitForState(server, session.id, 'completed');
    const messages = await allMessages(server, session.id);
    expect(messages.map((m: Json) => m.role)).toEqual(['user', 'assistant', 'user', 'assistant']);
    expect(messages[1]).toMatchObject({ interrupted: true, run_id: first.body.run_id });
    expect(messages[1].content).toMatch(/^t0 t1 /);
    expect(messages[3].content).toBe('Echo: do this instead');
    const ends = (await allEvents(server, session.id)).filter((e: Json) => ['run_cancelled', 'run_completed'].includes(e.type));
    expect(ends.map((e: Json) => [e.type, e.run_id])).toEqual([
      ['run_cancelled', first.body.run_id],
      ['run_completed', now.body.run_id],
    ]);
  });

  it('rollback: the cancelled run’s turn and what it produced leave the transcript; the log keeps them', async () => {
    const server = await slowServer();
    const session = await createSession(server);
    await send(server, session.id, 'keep me');
    await waitForState(server, session.id, 'completed');
    const superseded = await send(server, session.id, '/slow 50');
    await waitForSession(server, session.id, (s) => s.state === 'running');
    const now = await send(server, session.id, 'start over', 'rollback');
    expect(now.status).toBe(202);
    await waitForState(server, session.id, 'completed');
    const messages = await allMessages(server, session.id);
    expect(messages.map((m: Json) => m.content)).toEqual(['keep me', 'Echo: keep me', 'start over', 'Echo: start over']);
    const removed = (await allEvents(server, session.id)).find((e: Json) => e.type === 'messages_removed');
    expect(removed.message_ids).toEqual([superseded.body.message.id]);
    expect((await server.call('GET', `${API}/sessions/${session.id}`)).body.session.message_count).toBe(4);
  });

  it('rollback after an interrupt: the whole unanswered turn leaves, the interrupted run\'s partial reply with it', async () => {
    const server = await slowServer();
    const session = await createSession(server);
    await send(server, session.id, 'keep me');
    await waitForState(server, session.id, 'completed');
    const first = await send(server, session.id, '/slow 50');
    await vi.waitFor(async () => {
      if (!(await allEvents(server, session.id)).some((e: Json) => e.type === 'token' && e.run_id === first.body.run_id)) throw new Error('no token yet');
    });
    expect((await send(server, session.id, '/slow 50', 'interrupt')).status).toBe(202);
    const partial = (await allMessages(server, session.id)).find((m: Json) => m.interrupted === true);
    expect(partial).toMatchObject({ role: 'assistant', run_id: first.body.run_id });
    expect((await send(server, session.id, 'start over', 'rollback')).status).toBe(202);
    await waitForState(server, session.id, 'completed');
    const messages = await allMessages(server, session.id);
    expect(messages.map((m: Json) => m.content)).toEqual(['keep me', 'Echo: keep me', 'start over', 'Echo: start over']);
    const removed = (await allEvents(server, session.id)).filter((e: Json) => e.type === 'messages_removed');
    expect(removed).toHaveLength(1);
    expect(removed[0].message_ids).toContain(partial.id);
  });
});

describe('while a question is open', () => {
  it('reject: 409 question_pending; enqueue waits until the answer’s run has ended', async () => {
    const server = await startServer();
    const session = await createSession(server);
    await send(server, session.id, '/ask Pick | red | blue');
    const asking = await waitForState(server, session.id, 'awaitingUser');
    expectError(await send(server, session.id, 'hi'), 409, 'question_pending', { question_id: asking.pending_question.id });
    const queued = await send(server, session.id, 'after the answer', 'enqueue');
    expect(queued.body).toMatchObject({ outcome: 'Queued', position: 1 });
    await new Promise((resolve) => setTimeout(resolve, 100));
    expect((await server.call('GET', `${API}/sessions/${session.id}`)).body.session).toMatchObject({ state: 'awaitingUser', queued: [{ content: 'after the answer' }] });
    await server.call('POST', `${API}/sessions/${session.id}/respond`, { json: { question_id: asking.pending_question.id, answer: 'red' } });
    await waitForSession(server, session.id, (s) => s.state === 'completed' && s.queued.length === 0);
    expect((await allMessages(server, session.id)).map((m: Json) => m.content).slice(-4)).toEqual(['red', 'You answered: red', 'after the answer', 'Echo: after the answer']);
  });

  it.each(['interrupt', 'rollback'])('%s: the question is withdrawn and the new message runs', async (strategy) => {
    const server = await startServer();
    const session = await createSession(server);
    await send(server, session.id, '/ask Pick | red | blue');
    const asking = await waitForState(server, session.id, 'awaitingUser');
    const now = await send(server, session.id, 'something else', strategy);
    expect(now.status).toBe(202);
    const done = await waitForState(server, session.id, 'completed');
    expect(done.pending_question).toBeNull();
    const events = await allEvents(server, session.id);
    expect(events.find((e: Json) => e.type === 'question_withdrawn')).toMatchObject({ question_id: asking.pending_question.id });
    const contents = (await allMessages(server, session.id)).map((m: Json) => m.content);
    expect(contents).toEqual(strategy === 'rollback' ? ['something else', 'Echo: something else'] : ['/ask Pick | red | blue', 'something else', 'Echo: something else']);
  });
});

describe('the queue under load and across restarts', () => {
  it('a hundred enqueued messages at once become a hundred turns, in the order they were queued, nothing lost', async () => {
    const server = await startServer({ maxQueued: 200 });
    const session = await createSession(server);
    // The first run holds the session until all hundred are queued, however slow the machine; cancelling it frees the queue.
    await send(server, session.id, '/sleep 60000');
    const replies = await Promise.all(Array.from({ length: 100 }, (_, i) => send(server, session.id, `m${i}`, 'enqueue')));
    expect(replies.every((r) => r.status === 202 && r.body.outcome === 'Queued')).toBe(true);
    const byPosition = replies.map((r) => r.body).sort((a, b) => a.position - b.position);
    expect(byPosition.map((b) => b.position)).toEqual(Array.from({ length: 100 }, (_, i) => i + 1));
    expect((await server.call('POST', `${API}/sessions/${session.id}/cancel`)).status).toBe(200);
    await waitForSession(server, session.id, (s) => s.state === 'completed' && s.queued.length === 0, 30_000);
    const users = (await allMessages(server, session.id)).filter((m: Json) => m.role === 'user').map((m: Json) => m.content);
    expect(users).toEqual(['/sleep 60000', ...byPosition.map((b) => b.message.content)]);
    const runs = (await allEvents(server, session.id)).filter((e: Json) => e.type === 'run_completed');
    expect(runs).toHaveLength(100);
  }, 60_000);

  it('messages sent one after another run in the order sent, also one sent as a run ends and before the queue moves on', async () => {
    const server = await startServer({ agents: { slow }, defaultAgent: 'slow', maxQueued: 200 });
    const session = await createSession(server);
    const sent = Array.from({ length: 60 }, (_, i) => `/slow 1 m${i}`);
    const outcomes: string[] = [];
    for (const content of sent) {
      const reply = await send(server, session.id, content, 'enqueue');
      expect(reply.status, reply.text).toBe(202);
      outcomes.push(reply.body.outcome);
    }
    await waitForSession(server, session.id, (s) => s.state === 'completed' && s.queued.length === 0, 30_000);
    const users = (await allMessages(server, session.id)).filter((m: Json) => m.role === 'user').map((m: Json) => m.content);
    expect(users).toEqual(sent);
    expect(outcomes).toContain('Queued');
  }, 60_000);

  it('survives a restart: queued before, run after', async () => {
    const dbPath = tempDb();
    const first = await startServer({ dbPath });
    const session = await createSession(first);
    await send(first, session.id, '/sleep 10000');
    await send(first, session.id, 'queued before the restart', 'enqueue');
    await first.close();
    const second = await startServer({ dbPath });
    const done = await waitForSession(second, session.id, (s) => s.state === 'completed' && s.queued.length === 0);
    expect(done.last_run.status).toBe('completed');
    expect((await allMessages(second, session.id)).map((m: Json) => m.content).slice(-2)).toEqual(['queued before the restart', 'Echo: queued before the restart']);
  });
});

describe('validation', () => {
  it('refuses an unknown strategy and resume: false with a strategy other than reject', async () => {
    const server = await startServer();
    const session = await createSession(server);
    expectError(await send(server, session.id, 'x', 'later'), 400, 'invalid_request');
    const mixed = await server.call('POST', `${API}/sessions/${session.id}/messages`, { json: { content: 'x', resume: false, multitask_strategy: 'enqueue' } });
    expectError(mixed, 400, 'invalid_request');
    expect(mixed.body.error.message).toContain('resume');
  });
});
