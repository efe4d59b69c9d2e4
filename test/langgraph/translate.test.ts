/**
 * The translation of a run's log into LangGraph frames, for what the demo
 * agent does not do: tool calls (the openai agent's), a reply after a tool,
 * and a run that is not the one followed.
 */
import { describe, expect, it } from 'vitest';
import type { LogEvent, SessionEvent } from '../../src/domain/events.js';
import type { Message } from '../../src/domain/types.js';
import { encodeFrames } from '../../src/http/langgraph/run-stream.js';
import { STREAM_MODES } from '../../src/http/langgraph/schemas.js';
import { RunTranslator } from '../../src/http/langgraph/translate.js';

const AT = '2026-01-01T00:00:00.000Z';
const RUN = 'run_a';
const user: Message = { id: 'msg_u', role: 'user', content: 'weather in Paris?', created_at: AT };

function log(events: LogEvent[]): SessionEvent[] {
  return events.map((event, i) => ({ ...event, seq: i + 10, session_id: 'ses_1' }));
}

const run = log([
  { type: 'run_started', at: AT, run_id: RUN },
  { type: 'token', at: AT, run_id: RUN, text: 'Let me check.' },
  {
    type: 'message_appended',
    at: AT,
    run_id: RUN,
    message: { id: 'msg_a1', role: 'assistant', content: 'Let me check.', created_at: AT, tool_calls: [{ id: 'call_1', name: 'weather', arguments: '{"city":"Paris"}' }, { id: 'call_2', name: 'broken', arguments: '{oops' }] },
  },
  { type: 'tool_started', at: AT, run_id: RUN, tool_call_id: 'call_1', name: 'weather', arguments: '{"city":"Paris"}' },
  { type: 'tool_completed', at: AT, run_id: RUN, tool_call_id: 'call_1', result: 'sunny' },
  { type: 'message_appended', at: AT, run_id: RUN, message: { id: 'msg_t1', role: 'tool', content: 'sunny', created_at: AT, tool_call_id: 'call_1' } },
  { type: 'token', at: AT, run_id: 'run_other', text: 'not ours' },
  { type: 'token', at: AT, run_id: RUN, text: 'It is sunny.' },
  { type: 'message_appended', at: AT, run_id: RUN, message: { id: 'msg_a2', role: 'assistant', content: 'It is sunny.', created_at: AT } },
  { type: 'run_completed', at: AT, run_id: RUN },
  { type: 'token', at: AT, run_id: RUN, text: 'after the end' },
]);

function translate(modes: (typeof STREAM_MODES)[number][]): { seq: number; event: string; data: any }[] {
  const translator = new RunTranslator({ threadId: 'ses_1', runId: RUN, assistantId: 'openai', modes: new Set(modes) }, [user]);
  return run.flatMap((event) => translator.translate(event).map((frame) => ({ seq: event.seq, ...frame })));
}

describe('RunTranslator', () => {
  it('tools: the start with parsed input, the end with the tool name and output', () => {
    const frames = translate(['tools']).filter((frame) => frame.event === 'tools');
    expect(frames.map((frame) => frame.data)).toEqual([
      { event: 'on_tool_start', toolCallId: 'call_1', name: 'weather', input: { city: 'Paris' } },
      { event: 'on_tool_end', toolCallId: 'call_1', name: 'weather', output: 'sunny' },
    ]);
  });

  it('messages-tuple: each reply streams under its own chunk id, its tool calls as its last chunk; the tool result, never streamed, comes whole', () => {
    const frames = translate(['messages-tuple']).filter((frame) => frame.event === 'messages');
    expect(frames.map((frame) => [frame.data[0].type, frame.data[0].id, frame.data[0].content])).toEqual([
      ['AIMessageChunk', `${RUN}-0`, 'Let me check.'],
      ['AIMessageChunk', `${RUN}-0`, ''],
      ['tool', 'msg_t1', 'sunny'],
      ['AIMessageChunk', `${RUN}-1`, 'It is sunny.'],
    ]);
    expect(frames[1]!.data[0]).toMatchObject({
      tool_call_chunks: [
        { type: 'tool_call_chunk', id: 'call_1', name: 'weather', args: '{"city":"Paris"}', index: 0 },
        { type: 'tool_call_chunk', id: 'call_2', name: 'broken', args: '{oops', index: 1 },
      ],
      tool_calls: [{ id: 'call_1', name: 'weather', args: { city: 'Paris' }, type: 'tool_call' }],
      invalid_tool_calls: [expect.objectContaining({ id: 'call_2', args: '{oops' })],
    });
    // A reply without tool calls ends with its text: nothing more is sent for it.
    expect(frames[3]!.data[0].tool_call_chunks).toEqual([]);
  });

  it('updates and values: LangChain messages, tool calls parsed, arguments that are not JSON objects as invalid calls', () => {
    const frames = translate(['updates', 'values']);
    const updates = frames.filter((frame) => frame.event === 'updates').map((frame) => frame.data.running.messages[0]);
    expect(updates.map((message) => message.type)).toEqual(['ai', 'tool', 'ai']);
    expect(updates[0].tool_calls).toEqual([{ id: 'call_1', name: 'weather', args: { city: 'Paris' }, type: 'tool_call' }]);
    expect(updates[0].invalid_tool_calls).toEqual([expect.objectContaining({ id: 'call_2', name: 'broken', args: '{oops', type: 'invalid_tool_call' })]);
    expect(updates[1]).toMatchObject({ type: 'tool', tool_call_id: 'call_1', content: 'sunny' });
    const values = frames.filter((frame) => frame.event === 'values').map((frame) => frame.data.messages.map((message: { id: string }) => message.id));
    expect(values).toEqual([['msg_u'], ['msg_u', 'msg_a1'], ['msg_u', 'msg_a1', 'msg_t1'], ['msg_u', 'msg_a1', 'msg_t1', 'msg_a2']]);
  });

  it('metadata first, end last, nothing of another run or after the end', () => {
    const frames = translate([...STREAM_MODES]);
    expect(frames[0]).toEqual({ seq: 10, event: 'metadata', data: { run_id: RUN, attempt: 1 } });
    expect(frames.at(-1)).toEqual({ seq: 19, event: 'end', data: { run_id: RUN, status: 'success' } });
    expect(JSON.stringify(frames)).not.toContain('not ours');
    expect(JSON.stringify(frames)).not.toContain('after the end');
  });

  it('encodes one event\'s frames with its seq as the id of the last', () => {
    expect(encodeFrames([{ event: 'updates', data: { a: 1 } }, { event: 'values', data: { b: 'x\ny' } }], 7)).toBe(
      'event: updates\ndata: {"a":1}\n\nevent: values\ndata: {"b":"x\\ny"}\nid: 7\n\n',
    );
  });
});
