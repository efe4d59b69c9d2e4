/** The LangGraph suites: a real server on 127.0.0.1 and the official SDK client pointed at its `/langgraph` mount. */
import { Client, type ClientConfig } from '@langchain/langgraph-sdk';
import { expect } from 'vitest';
import type { ServerOptions } from '../../src/server.js';
import { startServer, type TestServer } from '../http/helpers.js';

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
