/**
 * A local stand-in for an OpenAI-compatible chat-completions server on
 * 127.0.0.1: it answers each POST /v1/chat/completions with the next scripted
 * reply, speaks the documented streaming format (`data: {chat.completion.chunk}`
 * frames, `tool_calls` deltas by `index`, `finish_reason`, `data: [DONE]`), and
 * records every request it received.
 */
import { createServer, type IncomingHttpHeaders, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface RecordedRequest {
  method: string;
  path: string;
  headers: IncomingHttpHeaders;
  /** The parsed JSON body. */
  body: any;
  /** Resolves when the client closed the connection before the reply ended. */
  aborted: Promise<void>;
}

export type Reply = (res: ServerResponse, request: RecordedRequest) => void | Promise<void>;

export interface ModelServer {
  /** The API root to give the SDK: `http://127.0.0.1:PORT/v1`. */
  url: string;
  requests: RecordedRequest[];
  /** Queues replies for the next requests, in order. */
  reply(...replies: Reply[]): void;
  close(): Promise<void>;
}

export async function startModelServer(): Promise<ModelServer> {
  const queue: Reply[] = [];
  const requests: RecordedRequest[] = [];
  const server: Server = createServer(async (req: IncomingMessage, res: ServerResponse) => {
    let finished = false;
    res.on('finish', () => (finished = true));
    const aborted = new Promise<void>((resolve) => res.on('close', () => !finished && resolve()));
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    const text = Buffer.concat(chunks).toString('utf8');
    const request: RecordedRequest = { method: req.method ?? '', path: req.url ?? '', headers: req.headers, body: text ? JSON.parse(text) : null, aborted };
    requests.push(request);
    const next = queue.shift();
    if (!next) return errorReply(500, { message: 'No reply scripted for this request' }, { 'x-should-retry': 'false' })(res, request);
    await next(res, request);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/v1`,
    requests,
    reply: (...replies) => queue.push(...replies),
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/** A port nothing listens on: taken from a server that is closed again. */
export async function refusedURL(): Promise<string> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return `http://127.0.0.1:${port}/v1`;
}

type Delta = Record<string, unknown>;

/** One `chat.completion.chunk`, as OpenAI documents it. */
export function chunk(delta: Delta, finishReason: string | null = null): object {
  return {
    id: 'chatcmpl-test',
    object: 'chat.completion.chunk',
    created: 1_700_000_000,
    model: 'test-model',
    system_fingerprint: 'fp_test',
    choices: [{ index: 0, delta, logprobs: null, finish_reason: finishReason }],
  };
}

export interface SseWriter {
  send(delta: Delta, finishReason?: string | null): void;
  /** Ends the stream with `data: [DONE]`. */
  done(): void;
  /** The response itself, for replies that break the rules. */
  res: ServerResponse;
}

/** A streamed reply driven by `script`, which may pause between chunks. */
export function sse(script: (writer: SseWriter, request: RecordedRequest) => void | Promise<void>): Reply {
  return async (res, request) => {
    res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache', connection: 'keep-alive' });
    const writer: SseWriter = {
      res,
      send: (delta, finishReason = null) => void res.write(`data: ${JSON.stringify(chunk(delta, finishReason))}\n\n`),
      done: () => {
        res.write('data: [DONE]\n\n');
        res.end();
      },
    };
    await script(writer, request);
  };
}

/** The documented shape of a streamed text answer: role first, one chunk per part, an empty delta with `finish_reason`, `[DONE]`. */
export function textReply(parts: string[], finishReason = 'stop'): Reply {
  return sse((stream) => {
    stream.send({ role: 'assistant', content: '', refusal: null });
    for (const content of parts) stream.send({ content });
    stream.send({}, finishReason);
    stream.done();
  });
}

export interface ScriptedCall {
  id: string;
  name: string;
  /** The arguments text, split across chunks as given. */
  args: string[];
}

/**
 * Tool calls as OpenAI streams them: each call opens with `index`, `id`,
 * `type` and `name` and empty arguments; argument fragments follow by
 * `index` only. `interleave` alternates the calls' fragments chunk by chunk.
 */
export function toolCallsReply(calls: ScriptedCall[], { content = [] as string[], interleave = false, finishReason = 'tool_calls' } = {}): Reply {
  return sse((stream) => {
    stream.send({ role: 'assistant', content: content.length > 0 ? '' : null, refusal: null });
    for (const text of content) stream.send({ content: text });
    const fragments = calls.map((call, index) => [
      { index, id: call.id, type: 'function', function: { name: call.name, arguments: '' } },
      ...call.args.map((args) => ({ index, function: { arguments: args } })),
    ]);
    const order = interleave ? roundRobin(fragments) : fragments.flat();
    for (const toolCall of order) stream.send({ tool_calls: [toolCall] });
    stream.send({}, finishReason);
    stream.done();
  });
}

function roundRobin<T>(lists: T[][]): T[] {
  const out: T[] = [];
  for (let i = 0; lists.some((list) => i < list.length); i++) for (const list of lists) if (i < list.length) out.push(list[i]!);
  return out;
}

/** An error answer in OpenAI's envelope. `retry-after-ms` keeps the SDK's backoff short. */
export function errorReply(status: number, error: { message: string; type?: string; code?: string | null }, headers: Record<string, string> = {}): Reply {
  return (res) => {
    res.writeHead(status, { 'content-type': 'application/json', 'retry-after-ms': '1', ...headers });
    res.end(JSON.stringify({ error: { type: 'invalid_request_error', param: null, code: null, ...error } }));
  };
}
