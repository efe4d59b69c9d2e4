/**
 * The `openai` agent: any OpenAI-compatible chat-completions server, through
 * the official SDK, with streaming, tools and the built-in `ask_user`.
 *
 * A run loops: stream a completion; plain text completes the run; tool calls
 * are checked, stored as an assistant message, executed with each result
 * stored, and sent back for another completion. An `ask_user` call ends the
 * run `awaitingUser` once the turn's other tools have run.
 */
import OpenAI, { type ClientOptions } from 'openai';
import type { ChatCompletionMessageParam } from 'openai/resources/chat/completions';
import { z } from 'zod';
import type { Agent, RunContext, RunResult } from '../agent.js';
import { abortable, abortReason } from './abort.js';
import { askUserTool } from './ask-user.js';
import { describeFailure, RunError, type FailureContext } from './errors.js';
import { readTurn, type ModelTurn } from './stream.js';
import { executeToolCalls, prepareToolCalls } from './tool-calls.js';
import { toFunctionTool, ToolRegistry, type Tool } from './tools.js';
import { assistantMessage, toChatMessages } from './transcript.js';

export interface OpenAIAgentOptions {
  /** The server's API root, e.g. `http://127.0.0.1:8080/v1`. Default: OpenAI's. */
  baseURL?: string;
  /** Omit for local servers that need none: a placeholder is sent. */
  apiKey?: string;
  model: string;
  temperature?: number;
  /** Sent as `max_tokens`, which OpenAI-compatible servers understand. */
  maxTokens?: number;
  /** Rounds of tool calls one run may make before it fails. Default 8. */
  maxToolRounds?: number;
  /** How many of the latest messages a run sends the model. Default 200. */
  transcriptWindow?: number;
  /** Tools beside the built-in `ask_user`. */
  tools?: ToolRegistry | Iterable<Tool>;
  /** The SDK's retries of connection errors, 408, 409, 429 and 5xx. Default 2. */
  maxRetries?: number;
  /** Per request, in ms, until the response starts. Default: the SDK's (10 minutes). */
  timeout?: number;
  /** The SDK's logger and level; it masks the Authorization header itself. */
  logger?: ClientOptions['logger'];
  logLevel?: ClientOptions['logLevel'];
}

export const DEFAULT_BASE_URL = 'https://api.openai.com/v1';
export const DEFAULT_MAX_TOOL_ROUNDS = 8;
const DEFAULT_MAX_RETRIES = 2;
const DEFAULT_TIMEOUT_MS = 10 * 60 * 1000;
/** What local servers are commonly given; the SDK refuses to run without a key. */
export const PLACEHOLDER_API_KEY = 'sk-no-key-required';

const optionsSchema = z.object({
  baseURL: z.url({ protocol: /^https?$/ }).optional(),
  apiKey: z.string().optional(),
  model: z.string().min(1),
  temperature: z.number().min(0).max(2).optional(),
  maxTokens: z.int().positive().optional(),
  maxToolRounds: z.int().positive().optional(),
  transcriptWindow: z.int().positive().optional(),
  maxRetries: z.int().min(0).optional(),
  timeout: z.int().positive().optional(),
});

export function createOpenAIAgent(options: OpenAIAgentOptions): Agent {
  const { tools: toolOption, logger, logLevel, ...settings } = options;
  const parsed = optionsSchema.safeParse(settings);
  if (!parsed.success) {
    // Never echo the values: one of them may be the key.
    const problems = parsed.error.issues.map((issue) => `${issue.path.join('.')}: ${issue.message}`);
    throw new Error(`Invalid openai agent options: ${problems.join('; ')}`);
  }
  const { model, temperature, maxTokens } = parsed.data;
  const baseURL = parsed.data.baseURL ?? DEFAULT_BASE_URL;
  const apiKey = parsed.data.apiKey || PLACEHOLDER_API_KEY;
  const maxToolRounds = parsed.data.maxToolRounds ?? DEFAULT_MAX_TOOL_ROUNDS;
  const maxRetries = parsed.data.maxRetries ?? DEFAULT_MAX_RETRIES;
  const timeout = parsed.data.timeout ?? DEFAULT_TIMEOUT_MS;
  const tools = toolOption instanceof ToolRegistry ? toolOption : new ToolRegistry(toolOption);
  const client = new OpenAI({ baseURL, apiKey, maxRetries, timeout, ...(logger ? { logger } : {}), ...(logLevel ? { logLevel } : {}) });
  const failure: FailureContext = { model, baseURL, apiKey: parsed.data.apiKey ?? '', maxRetries, timeout };

  /** Streams one completion, passing its text on as `token` events. */
  async function complete(chat: ChatCompletionMessageParam[], ctx: RunContext): Promise<ModelTurn> {
    const { signal } = ctx;
    try {
      // The race returns at once on cancel, also while the SDK sleeps between retries.
      return await abortable(
        (async () => {
          const stream = await client.chat.completions.create(
            {
              model,
              messages: chat,
              stream: true,
              tools: [askUserTool, ...tools.list()].map(toFunctionTool),
              ...(temperature === undefined ? {} : { temperature }),
              ...(maxTokens === undefined ? {} : { max_tokens: maxTokens }),
            },
            { signal },
          );
          return await readTurn(stream, (text) => void ctx.emit({ type: 'token', text }));
        })(),
        signal,
      );
    } catch (error) {
      if (signal.aborted) throw abortReason(signal);
      throw describeFailure(error, failure);
    }
  }

  return {
    ...(parsed.data.transcriptWindow ? { transcriptWindow: parsed.data.transcriptWindow } : {}),
    async run(ctx: RunContext): Promise<RunResult> {
      const chat = toChatMessages(ctx.session.system_prompt, ctx.messages);
      for (let round = 0; ; round++) {
        const turn = await complete(chat, ctx);
        if (turn.toolCalls.length === 0) {
          if (turn.finishReason === 'content_filter') throw new RunError("The model server's content filter stopped the answer");
          return { kind: 'completed', message: turn.content };
        }
        if (turn.finishReason === 'length') {
          throw new RunError('The answer reached the max tokens limit (BAMBOO_MAX_TOKENS) in the middle of a tool call');
        }
        if (round >= maxToolRounds) {
          const rounds = `${maxToolRounds} round${maxToolRounds === 1 ? '' : 's'}`;
          throw new RunError(`The model was still calling tools after ${rounds} (BAMBOO_MAX_TOOL_ROUNDS); resume to let it go on`);
        }
        // Checked before anything is stored: a bad call leaves the transcript valid.
        const prepared = prepareToolCalls(turn.toolCalls, tools);
        await ctx.emit({ type: 'message_appended', message: { role: 'assistant', content: turn.content, tool_calls: turn.toolCalls } });
        chat.push(assistantMessage(turn.content, turn.toolCalls));
        const question = await executeToolCalls(prepared, ctx, (toolCallId, content) =>
          chat.push({ role: 'tool', tool_call_id: toolCallId, content }),
        );
        if (question) return { kind: 'awaitingUser', question };
      }
    },
  };
}
