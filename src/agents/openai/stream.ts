/**
 * Reads one streamed chat completion: text deltas are passed on as they
 * arrive, `tool_calls` deltas are put together by `index` across chunks.
 * Lenient about what OpenAI-compatible servers leave out (`role`, `type`,
 * repeated ids), strict about a missing `finish_reason`.
 */
import type { ChatCompletionChunk } from 'openai/resources/chat/completions';
import { randomUUID } from 'node:crypto';
import type { ToolCall } from '../../domain/types.js';
import { RunError } from './errors.js';

export interface ModelTurn {
  content: string;
  toolCalls: ToolCall[];
  finishReason: NonNullable<ChatCompletionChunk.Choice['finish_reason']>;
}

interface PartialCall {
  id: string;
  name: string;
  arguments: string;
}

export async function readTurn(stream: AsyncIterable<ChatCompletionChunk>, onText: (text: string) => void): Promise<ModelTurn> {
  let content = '';
  let finishReason: ModelTurn['finishReason'] | null = null;
  const calls = new Map<number, PartialCall>();

  for await (const chunk of stream) {
    // We ask for one choice; chunks without choices (usage) carry no text.
    const choice = chunk.choices?.find((candidate) => (candidate.index ?? 0) === 0);
    if (!choice) continue;
    const { delta } = choice;
    // A refusal is the model's answer too: without it the user would see nothing.
    const text = (delta?.content ?? '') + (delta?.refusal ?? '');
    if (text.length > 0) {
      content += text;
      onText(text);
    }
    for (const [position, part] of (delta?.tool_calls ?? []).entries()) {
      const index = part.index ?? position;
      const call = calls.get(index) ?? { id: '', name: '', arguments: '' };
      calls.set(index, call);
      if (part.id && !call.id) call.id = part.id;
      if (part.function?.name && !call.name) call.name = part.function.name;
      if (part.function?.arguments) call.arguments += part.function.arguments;
    }
    if (choice.finish_reason) finishReason = choice.finish_reason;
  }

  if (finishReason === null) throw new RunError('The model server ended the answer without a finish_reason (the stream was cut short)');
  return { content, toolCalls: withUniqueIds([...calls.entries()].sort(([a], [b]) => a - b).map(([, call]) => call)), finishReason };
}

/** Tool call ids become question ids and pair results with calls: each must be present and unique in its turn. */
function withUniqueIds(calls: PartialCall[]): ToolCall[] {
  const seen = new Set<string>();
  return calls.map((call) => {
    const id = call.id && !seen.has(call.id) ? call.id : `call_${randomUUID().replaceAll('-', '')}`;
    seen.add(id);
    return { id, name: call.name, arguments: call.arguments };
  });
}
