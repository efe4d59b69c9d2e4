/**
 * One run's events of the log, as LangGraph streams them. The translation
 * depends only on the log, so a stream joined later (or resumed with
 * `Last-Event-ID`) is built the same way from the run's first event: the same
 * events give the same frames.
 *
 * - `metadata` first, with the run id; `end` last, with its status.
 * - `values`: the state (`{ messages }`: the latest up to 4 MiB, as a
 *   thread's state holds them) as the run starts and after each message it
 *   adds; `{ __interrupt__ }` when it asks a question.
 * - `updates`: what the agent's node adds, `{ running: { messages } }`, or
 *   `{ __interrupt__ }`.
 * - `messages-tuple` (event `messages`): tokens as AI message chunks, a
 *   streamed reply's tool calls as its last chunk (`tool_call_chunks`, as
 *   LangChain streams a model's calls), and the messages the run adds that
 *   were not streamed (tool results) whole.
 * - `tools`: a tool call's start and end.
 */
import type { SessionEvent } from '../../domain/events.js';
import type { Message, ToolCall } from '../../domain/types.js';
import { type LangChainMessage, parseArguments, toLangChain } from './messages.js';
import type { StreamMode } from './schemas.js';
import { interruptOf, NODE, type LangGraphRunStatus, ValuesWindow } from './views.js';

export interface Frame {
  event: string;
  data: unknown;
}

export interface RunScope {
  threadId: string;
  runId: string;
  assistantId: string;
  modes: ReadonlySet<StreamMode>;
}

export class RunTranslator {
  /** True once the run's end (or the thread's deletion) was translated: nothing follows. */
  ended = false;
  private readonly values = new ValuesWindow();
  /** Assistant messages the run added so far: each streamed message's chunks get their own id. */
  private replies = 0;
  /** Tokens were streamed since the last assistant message: that message was already seen as chunks. */
  private streamed = false;
  private readonly toolNames = new Map<string, string>();

  /** `before`: the transcript as the run started (needed for `values` only). */
  constructor(
    private readonly scope: RunScope,
    before: readonly Message[],
  ) {
    for (const message of before) this.values.add(toLangChain(message));
  }

  translate(event: SessionEvent): Frame[] {
    if (this.ended) return [];
    if (event.type === 'session_deleted') return this.finish([{ event: 'error', data: { error: 'ThreadDeleted', message: 'The thread was deleted' } }]);
    if (!('run_id' in event) || event.run_id !== this.scope.runId) return [];
    const frames: Frame[] = [];
    const add = (mode: StreamMode, frame: Frame) => {
      if (this.scope.modes.has(mode)) frames.push(frame);
    };
    switch (event.type) {
      case 'run_started':
        frames.push({ event: 'metadata', data: { run_id: this.scope.runId, attempt: 1 } });
        add('values', { event: 'values', data: this.values.values });
        break;
      case 'token':
        this.streamed = true;
        add('messages-tuple', { event: 'messages', data: [this.chunk(event.text), this.tupleMetadata()] });
        break;
      case 'tool_started':
        this.toolNames.set(event.tool_call_id, event.name);
        add('tools', { event: 'tools', data: { event: 'on_tool_start', toolCallId: event.tool_call_id, name: event.name, input: parseArguments(event.arguments) ?? event.arguments } });
        break;
      case 'tool_completed':
        add('tools', { event: 'tools', data: { event: 'on_tool_end', toolCallId: event.tool_call_id, name: this.toolNames.get(event.tool_call_id) ?? '', output: event.result } });
        break;
      case 'message_appended': {
        const message = toLangChain(event.message);
        this.values.add(message);
        // A streamed reply was seen as chunks, but its tool calls were not: they close it, under the same id.
        if (message.type === 'ai' && this.streamed) {
          if (event.message.tool_calls?.length) add('messages-tuple', { event: 'messages', data: [this.toolCallsChunk(event.message.tool_calls, message), this.tupleMetadata()] });
        } else add('messages-tuple', { event: 'messages', data: [message, this.tupleMetadata()] });
        if (message.type === 'ai') {
          this.replies++;
          this.streamed = false;
        }
        add('updates', { event: 'updates', data: { [NODE]: { messages: [message] } } });
        add('values', { event: 'values', data: this.values.values });
        break;
      }
      case 'question_asked': {
        const interrupts = [interruptOf(event.question)];
        add('updates', { event: 'updates', data: { __interrupt__: interrupts } });
        add('values', { event: 'values', data: { __interrupt__: interrupts } });
        return this.finish(frames, 'interrupted');
      }
      case 'run_completed':
        return this.finish(frames, 'success');
      case 'run_failed':
        frames.push({ event: 'error', data: { error: 'RunFailed', message: event.error } });
        return this.finish(frames, 'error');
      case 'run_cancelled':
      case 'run_interrupted':
        return this.finish(frames, 'interrupted');
    }
    return frames;
  }

  private finish(frames: Frame[], status?: LangGraphRunStatus): Frame[] {
    this.ended = true;
    if (status) frames.push({ event: 'end', data: { run_id: this.scope.runId, status } });
    return frames;
  }

  /** A token as LangChain streams a model's output; chunks of one reply share an id. */
  private chunk(text: string) {
    return {
      type: 'AIMessageChunk',
      id: `${this.scope.runId}-${this.replies}`,
      content: text,
      tool_call_chunks: [],
      additional_kwargs: {},
      response_metadata: {},
    };
  }

  /** The calls as one chunk of the reply: argument texts in `tool_call_chunks`, and parsed as the complete message has them. */
  private toolCallsChunk(calls: readonly ToolCall[], message: LangChainMessage) {
    return {
      ...this.chunk(''),
      tool_call_chunks: calls.map((call, index) => ({ type: 'tool_call_chunk', id: call.id, name: call.name, args: call.arguments, index })),
      tool_calls: message.tool_calls ?? [],
      invalid_tool_calls: message.invalid_tool_calls ?? [],
    };
  }

  private tupleMetadata() {
    const { runId, threadId, assistantId } = this.scope;
    return { tags: [], run_id: runId, thread_id: threadId, assistant_id: assistantId, graph_id: assistantId, langgraph_node: NODE };
  }
}
