/** Turns over HTTP: the human-in-the-loop round trip, respond replays, cancel, delete, and racing resumes. */
import { afterEach, describe, expect, it } from 'vitest';
import { API, allEvents, allMessages, cleanup, createSession, expectError, getSession, startServer, waitForSession, waitForState } from './helpers.js';

afterEach(cleanup);

const TERMINAL = ['run_completed', 'question_asked', 'run_failed', 'run_cancelled', 'run_interrupted'];

describe('a human-in-the-loop turn', () => {
  it('asks, waits for the user, takes the answer, and replies with it', async () => {
    const server = await startServer();
    const session = await createSession(server, { title: 'colours' });
    expect(session).toMatchObject({ title: 'colours', agent: 'demo', state: 'idle', run_id: null, last_run: null, pending_question: null });

    const asked = await server.call('POST', `${API}/sessions/${session.id}/messages`, { json: { content: '/ask Pick one | red | blue' } });
    expect(asked.status, asked.text).toBe(202);
    expect(asked.body).toMatchObject({ outcome: 'Started', message: { role: 'user', content: '/ask Pick one | red | blue' } });
    expect(asked.body.run_id).toMatch(/^run_/);
    // The last seq before the run: session_created (1) and the user's message (2).
    expect(asked.body.events_url).toBe(`${API}/sessions/${session.id}/events?after=2`);

    const waiting = await waitForState(server, session.id, 'awaitingUser');
    expect(waiting).toMatchObject({
      run_id: null,
      has_pending_work: false,
      last_run: { id: asked.body.run_id, status: 'awaiting_user' },
      pending_question: { text: 'Pick one', options: ['red', 'blue'], allow_custom: false },
    });
    const questionId: string = waiting.pending_question.id;
    expect(questionId).toMatch(/^q_/);

    const answered = await server.call('POST', `${API}/sessions/${session.id}/respond`, { json: { question_id: questionId, answer: 'red' } });
    expect(answered.status, answered.text).toBe(202);
    expect(answered.body).toMatchObject({ outcome: 'Started' });
    expect(answered.body.run_id).toMatch(/^run_/);
    expect(answered.body.run_id).not.toBe(asked.body.run_id);
    expect(answered.body.events_url).toMatch(new RegExp(`^${API}/sessions/${session.id}/events\\?after=\\d+$`));

    const done = await waitForState(server, session.id, 'completed');
    expect(done).toMatchObject({ run_id: null, pending_question: null, has_pending_work: false, last_run: { id: answered.body.run_id, status: 'completed' } });
    expect(done.last_run.ended_at).not.toBeNull();

    const messages = await allMessages(server, session.id);
    expect(messages.map((message: { role: string; content: string }) => [message.role, message.content])).toEqual([
      ['user', '/ask Pick one | red | blue'],
      ['tool', 'red'],
      ['assistant', 'You answered: red'],
    ]);
    expect(done.message_count).toBe(3);

    const events = await allEvents(server, session.id);
    expect(events.map((event: { seq: number }) => event.seq)).toEqual(events.map((_: unknown, i: number) => i + 1));
    expect(done.last_event_seq).toBe(events.length);
    expect(events.every((event: { session_id: string }) => event.session_id === session.id)).toBe(true);
    const runEvents = (runId: string) => events.filter((event: { run_id?: string }) => event.run_id === runId).map((event: { type: string }) => event.type);
    expect(runEvents(asked.body.run_id)).toEqual(['run_started', 'question_asked']);
    const second = runEvents(answered.body.run_id);
    expect(second[0]).toBe('run_started');
    expect(second.filter((type: string) => TERMINAL.includes(type))).toEqual(['run_completed']);
    expect(second.at(-1)).toBe('run_completed');
    expect(second).toContain('token');

    // The question and its answer, in that order, and the states the session went through.
    const types = events.map((event: { type: string }) => event.type);
    expect(types[0]).toBe('session_created');
    expect(types.indexOf('question_asked')).toBeLessThan(types.indexOf('question_answered'));
    const answer = events.find((event: { type: string }) => event.type === 'question_answered');
    expect(answer).toMatchObject({ question_id: questionId, answer: 'red' });
    const moves = events.filter((event: { type: string }) => event.type === 'state_changed').map((event: { from: string; to: string }) => `${event.from}>${event.to}`);
    expect(moves).toEqual(['idle>running', 'running>awaitingUser', 'awaitingUser>idle', 'idle>running', 'running>completed']);

    // events_url starts right after the log as it stood before the run.
    const fromUrl = await server.call('GET', answered.body.events_url);
    expect(fromUrl.status).toBe(200);
    expect(fromUrl.body.events[0].type).toBe('run_started');
    expect(fromUrl.body.events[0].run_id).toBe(answered.body.run_id);
  });

  it('replays a repeated answer without starting anything, and refuses a different one', async () => {
    const server = await startServer();
    const session = await createSession(server);
    await server.call('POST', `${API}/sessions/${session.id}/messages`, { json: { content: '/ask Pick one | red | blue' } });
    const questionId: string = (await waitForState(server, session.id, 'awaitingUser')).pending_question.id;

    // A custom answer is refused when allow_custom is false, and nothing changes.
    const before = await getSession(server, session.id);
    expectError(await server.call('POST', `${API}/sessions/${session.id}/respond`, { json: { question_id: questionId, answer: 'green' } }), 400, 'invalid_answer');
    expect(await getSession(server, session.id)).toMatchObject({ state: 'awaitingUser', version: before.version, last_event_seq: before.last_event_seq });

    // Unpaced tokens: the answer run is over at once, so the replay finds nothing running.
    const first = await server.call('POST', `${API}/sessions/${session.id}/respond`, { json: { question_id: questionId, answer: 'blue' } });
    expect(first.status, first.text).toBe(202);
    const done = await waitForState(server, session.id, 'completed');

    const again = await server.call('POST', `${API}/sessions/${session.id}/respond`, { json: { question_id: questionId, answer: 'blue' } });
    expect(again.status, again.text).toBe(200);
    expect(again.body).toEqual({ replayed: true, outcome: 'Completed' });
    const other = await server.call('POST', `${API}/sessions/${session.id}/respond`, { json: { question_id: questionId, answer: 'red' } });
    expectError(other, 409, 'question_mismatch');
    expect(await getSession(server, session.id)).toMatchObject({ state: 'completed', version: done.version, last_event_seq: done.last_event_seq });
    expect((await allMessages(server, session.id)).filter((message: { role: string }) => message.role === 'tool')).toHaveLength(1);
  });

  it('replays a repeated answer as AlreadyRunning while the answer run is active', async () => {
    const server = await startServer({ tokenDelayMs: 100 });
    const session = await createSession(server);
    await server.call('POST', `${API}/sessions/${session.id}/messages`, { json: { content: '/ask Pick one' } });
    const question = (await waitForState(server, session.id, 'awaitingUser')).pending_question;
    expect(question).toMatchObject({ text: 'Pick one', allow_custom: true });
    expect(question.options ?? []).toEqual([]);

    // A custom answer of many words: streamed at 100 ms a token, the run lasts well beyond the replay.
    const answer = 'one two three four five six seven eight nine ten';
    const first = await server.call('POST', `${API}/sessions/${session.id}/respond`, { json: { question_id: question.id, answer } });
    expect(first.status, first.text).toBe(202);
    const again = await server.call('POST', `${API}/sessions/${session.id}/respond`, { json: { question_id: question.id, answer } });
    expect(again.status, again.text).toBe(200);
    expect(again.body).toEqual({ replayed: true, outcome: 'AlreadyRunning', run_id: first.body.run_id });
    expectError(await server.call('POST', `${API}/sessions/${session.id}/respond`, { json: { question_id: question.id, answer: 'else' } }), 409, 'question_mismatch');

    const cancelled = await server.call('POST', `${API}/sessions/${session.id}/cancel`);
    expect(cancelled.status, cancelled.text).toBe(200);
    const events = await allEvents(server, session.id);
    expect(events.filter((event: { type: string }) => event.type === 'run_started')).toHaveLength(2);
  });
});

describe('cancel and delete', () => {
  it('cancels a running run: Cancelled with its run_id, idle, pending work kept, resumable', async () => {
    const server = await startServer();
    const session = await createSession(server);
    const started = await server.call('POST', `${API}/sessions/${session.id}/messages`, { json: { content: '/sleep 5000' } });
    expect(started.status).toBe(202);

    const t0 = Date.now();
    const cancelled = await server.call('POST', `${API}/sessions/${session.id}/cancel`);
    expect(cancelled.status, cancelled.text).toBe(200);
    expect(cancelled.body).toEqual({ outcome: 'Cancelled', run_id: started.body.run_id });
    expect(Date.now() - t0).toBeLessThan(2_000);

    const after = await getSession(server, session.id);
    expect(after).toMatchObject({ state: 'idle', run_id: null, has_pending_work: true, last_run: { id: started.body.run_id, status: 'cancelled' } });
    expect(after.last_run.ended_at).not.toBeNull();
    const events = await allEvents(server, session.id);
    expect(events.filter((event: { type: string }) => TERMINAL.includes(event.type)).map((event: { type: string }) => event.type)).toEqual(['run_cancelled']);

    expectError(await server.call('POST', `${API}/sessions/${session.id}/cancel`), 409, 'not_running');
    // The kept work runs again on resume; `{}` as the body of cancel works as well as none.
    const resumed = await server.call('POST', `${API}/sessions/${session.id}/resume`);
    expect(resumed.status, resumed.text).toBe(202);
    const again = await server.call('POST', `${API}/sessions/${session.id}/cancel`, { json: {} });
    expect(again.status, again.text).toBe(200);
    expect(again.body).toEqual({ outcome: 'Cancelled', run_id: resumed.body.run_id });
  });

  it('deletes a running session: 204, then 404 everywhere', async () => {
    const server = await startServer();
    const session = await createSession(server);
    const other = await createSession(server);
    const started = await server.call('POST', `${API}/sessions/${session.id}/messages`, { json: { content: '/sleep 5000' } });
    expect(started.status).toBe(202);

    const deleted = await server.call('DELETE', `${API}/sessions/${session.id}`);
    expect(deleted.status, deleted.text).toBe(204);
    expect(deleted.text).toBe('');

    expectError(await server.call('GET', `${API}/sessions/${session.id}`), 404, 'session_not_found');
    expectError(await server.call('GET', `${API}/sessions/${session.id}/messages`), 404, 'session_not_found');
    expectError(await server.call('GET', `${API}/sessions/${session.id}/events`), 404, 'session_not_found');
    expectError(await server.call('DELETE', `${API}/sessions/${session.id}`), 404, 'session_not_found');
    expectError(await server.call('POST', `${API}/sessions/${session.id}/messages`, { json: { content: 'hi' } }), 404, 'session_not_found');
    const resume = await server.call('POST', `${API}/sessions/${session.id}/resume`);
    expect(resume.status).toBe(404);
    expect(resume.body).toMatchObject({ outcome: 'NotFound', error: { code: 'session_not_found' } });

    const list = await server.call('GET', `${API}/sessions`);
    expect(list.body.sessions.map((s: { id: string }) => s.id)).toEqual([other.id]);
    // The aborted run left nothing behind that still runs.
    const metrics = await server.call('GET', '/metrics');
    expect(metrics.text).toMatch(/^bamboo_sessions\{state="running"\} 0$/m);
  });
});

describe('racing resumes', () => {
  it('200 concurrent resumes of one session with pending work: one Started, 199 AlreadyRunning with its run_id', async () => {
    const server = await startServer();
    const session = await createSession(server);
    // Long enough that every request lands while the run is active; cancelled at the end.
    const queued = await server.call('POST', `${API}/sessions/${session.id}/messages`, { json: { content: '/sleep 10000', resume: false } });
    expect(queued.status, queued.text).toBe(201);
    expect(queued.body.outcome).toBeNull();
    expect(await getSession(server, session.id)).toMatchObject({ state: 'idle', has_pending_work: true });

    // Connections opened for the burst: many, so the requests really travel side by side rather than one by one.
    let connections = 0;
    server.server.http.on('connection', () => connections++);

    const replies = await Promise.all(Array.from({ length: 200 }, () => server.call('POST', `${API}/sessions/${session.id}/resume`)));
    const started = replies.filter((reply) => reply.status === 202);
    const running = replies.filter((reply) => reply.status === 200);
    expect(started).toHaveLength(1);
    expect(running).toHaveLength(199);
    const runId: string = started[0].body.run_id;
    expect(started[0].body).toEqual({ outcome: 'Started', run_id: runId, events_url: `${API}/sessions/${session.id}/events?after=2` });
    for (const reply of running) expect(reply.body).toEqual({ outcome: 'AlreadyRunning', run_id: runId });
    expect(connections).toBeGreaterThanOrEqual(50);

    const view = await getSession(server, session.id);
    expect(view).toMatchObject({ state: 'running', run_id: runId, has_pending_work: false, last_run: { id: runId, status: 'running' } });
    const events = await allEvents(server, session.id);
    expect(events.filter((event: { type: string }) => event.type === 'run_started')).toHaveLength(1);

    expect((await server.call('POST', `${API}/sessions/${session.id}/cancel`)).status).toBe(200);
    await waitForSession(server, session.id, (s) => s.state === 'idle');
  });
});
