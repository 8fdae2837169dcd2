// Helpers of the activity tests: an ActivityContext of our own (to call handlers directly, the way
// the worker wrapper does: input parsed, handler, output parsed), a local HTTP server on loopback,
// and the cause chain of a failed run.
import assert from 'node:assert/strict';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { ApplicationFailure } from '@temporalio/common';
import { WorkflowFailedError, type WorkflowHandle } from '@temporalio/client';
import type { ActivityContext, ActivityDefinition } from '../../activities/define.ts';

export function testContext(signal = new AbortController().signal): ActivityContext {
  return {
    attempt: 1,
    idempotencyKey: 'test/activity',
    heartbeat: () => undefined,
    signal,
    log: { info: () => undefined, warn: () => undefined },
  };
}

/** Parses the input, runs the handler, parses the output: the worker wrapper minus Temporal. */
export async function callActivity(def: ActivityDefinition, raw: unknown, ctx = testContext()): Promise<unknown> {
  return def.output.parse(await def.handler(def.input.parse(raw), ctx));
}

/** Runs the activity and returns the ApplicationFailure it throws. */
export async function activityFailure(def: ActivityDefinition, input: unknown, ctx: ActivityContext = testContext()): Promise<ApplicationFailure> {
  const err = await callActivity(def, input, ctx).then(
    (out) => assert.fail(`expected ${def.name} to fail, it returned ${JSON.stringify(out)}`),
    (e: unknown) => e,
  );
  assert.ok(err instanceof ApplicationFailure, `expected an ApplicationFailure, got ${String(err)}`);
  return err;
}

export interface SeenRequest {
  method: string;
  url: string;
  headers: IncomingMessage['headers'];
  body: string;
}

export interface LocalServer {
  /** `127.0.0.1:<port>` */
  host: string;
  url(path: string): string;
  requests: SeenRequest[];
  close(): Promise<void>;
}

type Handler = (req: SeenRequest, res: ServerResponse) => void;

/** An HTTP server on 127.0.0.1 and a free port; `close()` also drops connections left hanging. */
export async function localServer(handler: Handler): Promise<LocalServer> {
  const requests: SeenRequest[] = [];
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const seen = { method: req.method ?? '', url: req.url ?? '', headers: req.headers, body: Buffer.concat(chunks).toString('utf8') };
      requests.push(seen);
      handler(seen, res);
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', resolve);
  });
  const host = `127.0.0.1:${(server.address() as AddressInfo).port}`;
  return {
    host,
    url: (path) => `http://${host}${path}`,
    requests,
    close: () =>
      new Promise<void>((resolve, reject) => {
        server.closeAllConnections();
        server.close((err) => (err ? reject(err) : resolve()));
      }),
  };
}

export function json(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  res.writeHead(status, { 'content-type': 'application/json', ...headers }).end(JSON.stringify(body));
}

/** Awaits the run's failure and returns the types and messages of its cause chain. */
export async function runFailure(handle: WorkflowHandle): Promise<{ types: string[]; text: string }> {
  const err = await handle.result().then(
    (out) => { throw new Error(`expected the run to fail, it returned ${JSON.stringify(out)}`); },
    (e: unknown) => e,
  );
  if (!(err instanceof WorkflowFailedError)) throw new Error(`expected WorkflowFailedError, got ${String(err)}`);
  const types: string[] = [];
  const messages: string[] = [];
  for (let cur: unknown = err.cause, i = 0; cur && i < 10; cur = (cur as Error).cause, i++) {
    if (cur instanceof ApplicationFailure && cur.type) types.push(cur.type);
    messages.push((cur as Error).message);
  }
  return { types, text: messages.join(' | ') };
}
