/** Cancelling an openai run: mid-stream and mid-tool, and what the model sees next. */
import { afterEach, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { defineTool } from '../../src/agents/openai/index.js';
import { allMessages, expectValidTranscript, nextEvent, startHarness, waitForRunEnd, type Harness } from './openai-helpers.js';
import { sse, textReply, toolCallsReply } from './openai-server.js';

let h: Harness | undefined;

afterEach(async () => {
  await h?.close();
  h = undefined;
});

const add = defineTool({
  name: 'add',
  description: 'Adds two numbers',
  parameters: z.object({ a: z.number(), b: z.number() }),
  execute: ({ a, b }) => String(a + b),
});

describe('cancel', () => {
  it('closes the streaming connection at once; the session is idle with the run cancelled and can be resumed', async () => {
    h = await startHarness();
    const session = await h.runtime.createSession({ agent: 'openai' });
    const firstToken = nextEvent(h.runtime, session.id, 'token');
    let closedAt = 0;
    h.server.reply(
      sse(async (stream, request) => {
        stream.send({ role: 'assistant', content: '' });
        stream.send({ content: 'Thinking' });
        await request.aborted;
        closedAt = Date.now();
      }),
    );
    await h.runtime.appendMessage(session.id, 'Think hard');
    await firstToken;

    const cancelledAt = Date.now();
    expect(await h.runtime.cancel(session.id)).toMatchObject({ outcome: 'Cancelled' });
    await expect.poll(() => closedAt, { timeout: 2_000, interval: 5 }).toBeGreaterThan(0);
    expect(closedAt - cancelledAt).toBeLessThan(1_000);

    const view = await h.runtime.getSession(session.id);
    expect(view.state).toBe('idle');
    expect(view.last_run?.status).toBe('cancelled');
    expect(view.has_pending_work).toBe(true);
    expect((await allMessages(h.runtime, session.id)).map((message) => message.role)).toEqual(['user']);

    h.server.reply(textReply(['Done']));
    expect((await h.runtime.resume(session.id)).outcome).toBe('Started');
    expect((await waitForRunEnd(h.runtime, session.id)).state).toBe('completed');
    expect(h.server.requests[1]!.body.messages).toEqual([{ role: 'user', content: 'Think hard' }]);
  });

  it('aborts a running tool; calls left without results get stand-in results before the next message', async () => {
    let toolAborted = false;
    let running!: () => void;
    const toolRunning = new Promise<void>((resolve) => (running = resolve));
    const slow = defineTool({
      name: 'slow',
      description: 'Waits until cancelled',
      parameters: z.object({}),
      execute: (_args, { signal }) =>
        new Promise((_resolve, reject) => {
          signal.addEventListener('abort', () => {
            toolAborted = true;
            reject(new Error('aborted'));
          });
          running();
        }),
    });
    h = await startHarness({ tools: [slow, add] });
    const session = await h.runtime.createSession({ agent: 'openai' });
    h.server.reply(
      toolCallsReply([
        { id: 'call_slow', name: 'slow', args: ['{}'] },
        { id: 'call_add', name: 'add', args: ['{"a":1,"b":2}'] },
      ]),
    );
    await h.runtime.appendMessage(session.id, 'Go');
    await toolRunning;
    await h.runtime.cancel(session.id);
    await expect.poll(() => toolAborted, { timeout: 2_000, interval: 5 }).toBe(true);
    expect((await h.runtime.getSession(session.id)).last_run?.status).toBe('cancelled');
    expect((await allMessages(h.runtime, session.id)).map((message) => message.role)).toEqual(['user', 'assistant']);

    h.server.reply(textReply(['OK']));
    await h.runtime.appendMessage(session.id, 'Never mind');
    expect((await waitForRunEnd(h.runtime, session.id)).state).toBe('completed');
    const next = h.server.requests[1]!.body.messages;
    expectValidTranscript(next);
    expect(next.slice(1)).toEqual([
      expect.objectContaining({ role: 'assistant', tool_calls: [expect.objectContaining({ id: 'call_slow' }), expect.objectContaining({ id: 'call_add' })] }),
      { role: 'tool', tool_call_id: 'call_slow', content: expect.stringContaining('No result') },
      { role: 'tool', tool_call_id: 'call_add', content: expect.stringContaining('No result') },
      { role: 'user', content: 'Never mind' },
    ]);
  });
});
