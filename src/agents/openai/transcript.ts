/**
 * Turns the stored transcript into chat-completions messages. The model
 * server refuses a transcript in which an assistant's tool call has no result
 * right after it, so a call left without one (its run was cancelled, failed or
 * interrupted mid-tool) gets a stand-in result, and a result that answers no
 * open call is left out.
 */
import type { ChatCompletionMessageParam, ChatCompletionMessageToolCall } from 'openai/resources/chat/completions';
import type { Message, ToolCall } from '../../domain/types.js';

export const MISSING_RESULT = 'No result: the run stopped before this tool call finished.';

export function toChatMessages(systemPrompt: string | null, messages: readonly Message[]): ChatCompletionMessageParam[] {
  const chat: ChatCompletionMessageParam[] = [];
  if (systemPrompt) chat.push({ role: 'system', content: systemPrompt });
  for (let i = 0; i < messages.length; i++) {
    const message = messages[i]!;
    if (message.role === 'user') {
      chat.push({ role: 'user', content: message.content });
    } else if (message.role === 'assistant') {
      const calls = message.tool_calls ?? [];
      chat.push(assistantMessage(message.content, calls));
      if (calls.length === 0) continue;
      // The results that follow this turn, before anything else is said.
      const results = new Map<string, string>();
      while (messages[i + 1]?.role === 'tool') {
        const result = messages[++i]!;
        const open = calls.some((call) => call.id === result.tool_call_id);
        if (open && !results.has(result.tool_call_id!)) results.set(result.tool_call_id!, result.content);
      }
      for (const call of calls) chat.push({ role: 'tool', tool_call_id: call.id, content: results.get(call.id) ?? MISSING_RESULT });
    }
    // A tool message reached here answers no open call.
  }
  return chat;
}

export function assistantMessage(content: string, calls: readonly ToolCall[]): ChatCompletionMessageParam {
  if (calls.length === 0) return { role: 'assistant', content };
  const toolCalls: ChatCompletionMessageToolCall[] = calls.map((call) => ({
    id: call.id,
    type: 'function',
    function: { name: call.name, arguments: call.arguments },
  }));
  // OpenAI documents `null` content for a turn that only calls tools.
  return { role: 'assistant', content: content || null, tool_calls: toolCalls };
}
