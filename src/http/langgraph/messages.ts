/**
 * Messages in LangChain's shape, the one LangGraph's `messages` channel holds:
 * `human` for user turns, `ai` for assistant replies (with `tool_calls`),
 * `tool` for tool results and for answers to questions (`tool_call_id` is the
 * question's id). Ids are Bamboo's message ids.
 */
import type { Message, ToolCall } from '../../domain/types.js';
import { LangGraphError, unsupported } from './errors.js';
import { MAX_TEXT_CHARS } from '../validation.js';

export interface LangChainMessage {
  type: 'human' | 'ai' | 'tool';
  id: string;
  content: string;
  additional_kwargs: Record<string, never>;
  response_metadata: Record<string, never>;
  tool_call_id?: string;
  tool_calls?: { id: string; name: string; args: Record<string, unknown>; type: 'tool_call' }[];
  invalid_tool_calls?: { id: string; name: string; args: string; error: string; type: 'invalid_tool_call' }[];
}


export function toLangChain(message: Message): LangChainMessage {
  const base = { id: message.id, content: message.content, additional_kwargs: {}, response_metadata: {} };
  switch (message.role) {
    case 'user':
      return { type: 'human', ...base };
    case 'tool':
      return { type: 'tool', ...base, tool_call_id: message.tool_call_id ?? '' };
    case 'assistant':
      return { type: 'ai', ...base, ...toolCalls(message.tool_calls ?? []) };
  }
}

/** A model's arguments are JSON text; what does not parse to an object is an invalid call, as LangChain reports it. */
function toolCalls(calls: ToolCall[]): Pick<LangChainMessage, 'tool_calls' | 'invalid_tool_calls'> {
  const valid: NonNullable<LangChainMessage['tool_calls']> = [];
  const invalid: NonNullable<LangChainMessage['invalid_tool_calls']> = [];
  for (const call of calls) {
    const args = parseArguments(call.arguments);
    if (args) valid.push({ id: call.id, name: call.name, args, type: 'tool_call' });
    else invalid.push({ id: call.id, name: call.name, args: call.arguments, error: 'arguments are not a JSON object', type: 'invalid_tool_call' });
  }
  return { tool_calls: valid, invalid_tool_calls: invalid };
}

export function parseArguments(text: string): Record<string, unknown> | null {
  try {
    const value: unknown = JSON.parse(text);
    return value !== null && typeof value === 'object' && !Array.isArray(value) ? (value as Record<string, unknown>) : null;
  } catch {
    return null;
  }
}

/**
 * The user turn in a run's `input`: `{ messages: [one human message] }`, the
 * message as LangChain or OpenAI writes it (`type: "human"` or `role: "user"`,
 * a `["human", content]` tuple, or a `HumanMessage` as LangChain serializes
 * it), its content a string or text blocks. Null when the input adds no message.
 */
export function userTurn(input: unknown): string | null {
  if (input === undefined || input === null) return null;
  if (typeof input !== 'object' || Array.isArray(input)) throw invalid('input must be an object with messages');
  const { messages, ...rest } = input as Record<string, unknown>;
  const other = Object.keys(rest);
  if (other.length > 0) throw unsupported(`input.${other[0]} (a thread's state holds only messages)`);
  if (messages === undefined || messages === null) return null;
  const list = Array.isArray(messages) ? messages : [messages];
  if (list.length === 0) return null;
  if (list.length > 1) throw unsupported('more than one message in one run (send one human message per run)');
  return humanText(list[0]);
}

function humanText(message: unknown): string {
  const text = typeof message === 'string' ? message : contentOf(message);
  if (text.length === 0) throw invalid('input.messages[0]: content must not be empty');
  if (text.length > MAX_TEXT_CHARS) throw invalid(`input.messages[0]: content must be at most ${MAX_TEXT_CHARS} characters`);
  return text;
}

/** LangChain's classes as JSON names them: `{ lc: 1, type: "constructor", id: [..., class name], kwargs }`. */
const HUMAN_CLASSES = new Set(['HumanMessage', 'HumanMessageChunk']);

/** A message's kind and content, in any of the forms LangChain's clients send. */
function kindAndContent(message: unknown): { kind: unknown; content: unknown } {
  if (Array.isArray(message)) {
    if (message.length !== 2) throw invalid('input.messages[0]: a message tuple must be [type, content]');
    return { kind: message[0], content: message[1] };
  }
  if (message === null || typeof message !== 'object') throw invalid('input.messages[0] must be a message object or a string');
  const { lc, type, role, id, kwargs, content } = message as Record<string, unknown>;
  if (lc === 1 && type === 'constructor' && Array.isArray(id)) {
    const className: unknown = id.at(-1);
    const fields = kwargs !== null && typeof kwargs === 'object' ? (kwargs as Record<string, unknown>) : {};
    return { kind: typeof className === 'string' && HUMAN_CLASSES.has(className) ? 'human' : className, content: fields.content };
  }
  return { kind: type ?? role, content };
}

function contentOf(message: unknown): string {
  const { kind, content } = kindAndContent(message);
  if (kind !== 'human' && kind !== 'user') {
    throw unsupported(`input messages of type "${String(kind)}" (only human messages are input; the agent writes the rest)`);
  }
  if (typeof content === 'string') return content;
  if (!Array.isArray(content)) throw invalid('input.messages[0].content must be a string or a list of text blocks');
  return content
    .map((block: unknown) => {
      const { type: blockType, text } = (block ?? {}) as Record<string, unknown>;
      if (blockType !== 'text' || typeof text !== 'string') throw unsupported(`content blocks of type "${String(blockType)}" (text only)`);
      return text;
    })
    .join('');
}

function invalid(message: string): LangGraphError {
  return new LangGraphError(422, message);
}
