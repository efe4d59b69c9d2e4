/**
 * The built-in `ask_user` tool. It is not executed: a call ends the run
 * `awaitingUser`, the question's id is the tool call's id, and the runtime
 * stores the user's answer as that call's tool result.
 */
import { z } from 'zod';
import type { QuestionDraft } from '../agent.js';
import { ASK_USER, parametersSchema } from './tools.js';

export const askUserParameters = z.object({
  question: z.string().min(1).describe('The question, in plain text'),
  options: z.array(z.string().min(1)).optional().describe('Answers to choose from, if the question has a fixed set'),
  allow_custom: z
    .boolean()
    .optional()
    .describe('With options: whether the user may also answer in their own words (default false)'),
});

export const askUserTool = {
  name: ASK_USER,
  description:
    'Ask the user a question and wait for the answer. Use it when you need information or a decision only the user can give. ' +
    'The answer arrives as this tool call\'s result.',
  jsonSchema: parametersSchema(ASK_USER, askUserParameters),
};

export function toQuestion(toolCallId: string, args: z.output<typeof askUserParameters>): QuestionDraft {
  const options = args.options && args.options.length > 0 ? args.options : undefined;
  return {
    id: toolCallId,
    text: args.question,
    ...(options ? { options } : {}),
    ...(args.allow_custom === undefined ? {} : { allow_custom: args.allow_custom }),
  };
}
