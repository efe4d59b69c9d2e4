/**
 * One assistant turn's tool calls: checked all together before anything is
 * stored (a malformed call fails the run and leaves the transcript as it was),
 * then executed in order with each result stored as a `tool` message.
 */
import type { z } from 'zod';
import type { ToolCall } from '../../domain/types.js';
import type { QuestionDraft, RunContext } from '../agent.js';
import { abortable, abortReason } from './abort.js';
import { askUserParameters, toQuestion } from './ask-user.js';
import { RunError } from './errors.js';
import { ASK_USER, type Tool, type ToolRegistry } from './tools.js';

export type PreparedCall =
  | { kind: 'ask'; call: ToolCall; question: QuestionDraft }
  | { kind: 'tool'; call: ToolCall; tool: Tool; args: unknown };

/** The result stored for a second `ask_user` in one turn: only one question can be open. */
export const EXTRA_QUESTION_RESULT =
  'Not asked: only one question can be open at a time. Ask it again after the first one is answered.';

/** Throws a clear error for an unknown tool, arguments that are not JSON, or arguments the schema refuses. */
export function prepareToolCalls(calls: readonly ToolCall[], tools: ToolRegistry): PreparedCall[] {
  return calls.map((call) => {
    if (!call.name) throw new RunError('The model sent a tool call without a function name');
    if (call.name === ASK_USER) return { kind: 'ask', call, question: toQuestion(call.id, parseArguments(call, askUserParameters)) };
    const tool = tools.get(call.name);
    if (!tool) {
      const names = [ASK_USER, ...tools.list().map((known) => known.name)].join(', ');
      throw new RunError(`The model called an unknown tool "${call.name}" (available: ${names})`);
    }
    return { kind: 'tool', call, tool, args: parseArguments(call, tool.parameters) };
  });
}

/**
 * Runs the ordinary tools of a turn, storing every result, and answers the
 * extra questions; returns the question that ends the run, if the turn asked one.
 * `onResult` sees each stored result, so the caller's transcript stays in step.
 */
export async function executeToolCalls(
  prepared: readonly PreparedCall[],
  ctx: RunContext,
  onResult: (toolCallId: string, content: string) => void,
): Promise<QuestionDraft | undefined> {
  const store = async (toolCallId: string, content: string) => {
    await ctx.emit({ type: 'message_appended', message: { role: 'tool', content, tool_call_id: toolCallId } });
    onResult(toolCallId, content);
  };
  for (const entry of prepared) {
    if (entry.kind !== 'tool') continue;
    if (ctx.signal.aborted) throw abortReason(ctx.signal);
    const { call } = entry;
    await ctx.emit({ type: 'tool_started', tool_call_id: call.id, name: call.name, arguments: call.arguments });
    const result = await runTool(entry, ctx);
    await ctx.emit({ type: 'tool_completed', tool_call_id: call.id, result });
    await store(call.id, result);
  }
  const questions = prepared.filter((entry) => entry.kind === 'ask');
  for (const extra of questions.slice(1)) await store(extra.call.id, EXTRA_QUESTION_RESULT);
  return questions[0]?.question;
}

/** A tool's failure is the model's to handle: it gets the error as the result. A cancel is not. */
async function runTool(entry: Extract<PreparedCall, { kind: 'tool' }>, ctx: RunContext): Promise<string> {
  const { call, tool, args } = entry;
  const context = { signal: ctx.signal, session: ctx.session, runId: ctx.runId, toolCallId: call.id };
  try {
    const result = await abortable(Promise.resolve().then(() => tool.execute(args, context)), ctx.signal);
    return resultText(result);
  } catch (error) {
    if (ctx.signal.aborted) throw error;
    return `Error: ${error instanceof Error ? error.message || error.name : String(error)}`;
  }
}

function resultText(result: unknown): string {
  if (typeof result === 'string') return result;
  if (result === undefined) return '';
  return JSON.stringify(result) ?? String(result);
}

function parseArguments<T>(call: ToolCall, schema: z.ZodType<T>): T {
  const text = call.arguments.trim();
  let json: unknown;
  try {
    // Some servers send an empty string for a call without arguments.
    json = text === '' ? {} : JSON.parse(text);
  } catch {
    throw new RunError(`The model called tool "${call.name}" with arguments that are not valid JSON: ${preview(call.arguments)}`);
  }
  const parsed = schema.safeParse(json);
  if (!parsed.success) {
    const problems = parsed.error.issues.map((issue) => (issue.path.length > 0 ? `${issue.path.join('.')}: ` : '') + issue.message);
    throw new RunError(`The model called tool "${call.name}" with invalid arguments: ${problems.join('; ')}`);
  }
  return parsed.data;
}

function preview(text: string): string {
  return JSON.stringify(text.length > 200 ? `${text.slice(0, 200)}…` : text);
}
