/** The LangGraph suites: a real server on 127.0.0.1 and the official SDK client pointed at its `/langgraph` mount. */
import { Client, type ClientConfig } from '@langchain/langgraph-sdk';
import { expect } from 'vitest';
import type { ServerOptions } from '../../src/server.js';
import { API, startServer, type TestServer } from '../http/helpers.js';

export interface Part {
  id?: string;
  event: string;
  data: any;
}

export interface LangGraphServer {
  server: TestServer;
  client: Client;
  /** `http://127.0.0.1:PORT/langgraph` */
  apiUrl: string;
}

export async function startLangGraph(options: ServerOptions = {}, config: ClientConfig = {}): Promise<LangGraphServer> {
  const server = await startServer(options);
  const apiUrl = `${server.url}/langgraph`;
  return { server, apiUrl, client: new Client({ apiUrl, ...config }) };
}

/** Every part of a stream, in order. */
export async function collect(stream: AsyncIterable<Part>): Promise<Part[]> {
  const parts: Part[] = [];
  for await (const part of stream) parts.push(part);
  return parts;
}

/** The text of the message chunks of a `messages-tuple` stream, joined. */
export function streamedText(parts: readonly Part[]): string {
  return parts
    .filter((part) => part.event === 'messages')
    .map((part) => part.data[0].content as string)
    .join('');
}

/** The status of an error the SDK threw for an HTTP answer. */
export async function failure(call: Promise<unknown>): Promise<{ status: number; detail: string }> {
  const error: any = await call.then(
    () => {
      throw new Error('expected the call to fail');
    },
    (caught: unknown) => caught,
  );
  expect(typeof error.status, String(error)).toBe('number');
  return { status: error.status, detail: JSON.parse(error.text).detail };
}

export const humanInput = (content: string) => ({ messages: [{ role: 'user', content }] });

/** Adds `turns` turns to a thread through the native API, each a message of `text` (numbered) and its echo; waits for each. */
export async function fillThread(server: TestServer, threadId: string, turns: number, text: string): Promise<void> {
  for (let turn = 0; turn < turns; turn++) {
    const reply = await server.call('POST', `${API}/sessions/${threadId}/messages`, { json: { content: `${turn} ${text}` } });
    expect(reply.status, reply.text).toBe(202);
    await expect.poll(async () => (await server.call('GET', `${API}/sessions/${threadId}`)).body.session.state).toBe('completed');
  }
}
