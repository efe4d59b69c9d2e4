/** The four top-level states of a session. */
export const SESSION_STATES = ['idle', 'running', 'awaitingUser', 'completed'] as const;
export type SessionState = (typeof SESSION_STATES)[number];

export type RunStatus = 'running' | 'completed' | 'awaiting_user' | 'cancelled' | 'failed' | 'interrupted';

export interface LastRun {
  id: string;
  status: RunStatus;
  error?: string;
  started_at: string;
  ended_at: string | null;
}

export interface Question {
  id: string;
  text: string;
  options?: string[];
  allow_custom: boolean;
  asked_at: string;
}

export type MessageRole = 'user' | 'assistant' | 'tool';

export interface ToolCall {
  id: string;
  name: string;
  /** JSON text, exactly as the model produced it. */
  arguments: string;
}

export interface Message {
  id: string;
  role: MessageRole;
  content: string;
  created_at: string;
  run_id?: string;
  /** On `tool` messages: the call this is the result of. */
  tool_call_id?: string;
  /** On `assistant` messages that call tools. */
  tool_calls?: ToolCall[];
  /** On an `assistant` message cut short: the output of a run interrupted by a new message. */
  interrupted?: boolean;
}

/** A user message waiting for the session to be free. */
export type QueuedMessage = Pick<Message, 'id' | 'content' | 'created_at'>;

/** How a message sent while the session is busy is handled (LangGraph's names). */
export const MULTITASK_STRATEGIES = ['reject', 'enqueue', 'interrupt', 'rollback'] as const;
export type MultitaskStrategy = (typeof MULTITASK_STRATEGIES)[number];

/** Immutable attributes of a session, chosen at creation. */
export interface SessionInfo {
  id: string;
  /** Who owns the session: the tenant of the API key that created it. */
  tenant: string;
  title: string | null;
  agent: string;
  system_prompt: string | null;
  metadata: Record<string, unknown>;
  created_at: string;
}

/** The session object of the HTTP API. */
export interface SessionView extends Omit<SessionInfo, 'system_prompt' | 'tenant'> {
  state: SessionState;
  run_id: string | null;
  last_run: LastRun | null;
  pending_question: Question | null;
  has_pending_work: boolean;
  /** Messages waiting for the session to be free, in the order they will run. */
  queued: QueuedMessage[];
  message_count: number;
  last_event_seq: number;
  version: number;
  updated_at: string;
}
