// Test access to the real Temporal dev server started by test/run.ts: a client, and workers on a
// task queue of the test's own, using the workflow bundle built once per run.
import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { Client, Connection, type WorkflowHandle } from '@temporalio/client';
import { defaultPayloadConverter, type DataConverter, type Payload } from '@temporalio/common';
import { NativeConnection, Runtime, DefaultLogger, type Worker } from '@temporalio/worker';
import { createWorker, type CreateWorkerOptions } from '../../worker/worker.ts';
import { buildWorkflowBundle } from '../../worker/bundle.ts';
import type { RunInput } from '../../workflows/interpreter/run-input.ts';
import type { CompiledDefinition } from '../../workflows/dsl/compiled.ts';
import { graphQuery, type ApprovalAnswer } from '../../workflows/interpreter/messages.ts';
import { signAssertion } from '../../api/links/token.ts';
import type { RunGraph } from '../../workflows/interpreter/graph.ts';
import { AesGcmCodec, claimCheckReference, dataConverterFromEnv, isClaimCheck, isEncrypted, keyringFromEnv, LocalDirStore, storedPayload, storeFromUrl } from '../../codec/index.ts';
import { signRunTicket } from '../../trust/run-ticket.ts';
import { signingKeyFromEnv } from '../../trust/signing-key.ts';
import type { TemporalConnectionOptions } from '../../infra/temporal-connection.ts';

let runtimeInstalled = false;
function quietRuntime(): void {
  if (runtimeInstalled) return;
  runtimeInstalled = true;
  Runtime.install({ logger: new DefaultLogger(process.env.CEDILLE_TEST_LOG === '1' ? 'INFO' : 'ERROR') });
}

export interface TemporalTestEnv {
  address: string;
  namespace: string;
  taskQueue: string;
  client: Client;
  /** The payload codec of the run (CEDILLE_CODEC_KEYS, set by test/run.ts with CEDILLE_TEST_CODEC=1); the client and workers use it. */
  dataConverter: DataConverter | undefined;
  /** Starts a worker on the test's task queue; `stop()` shuts it down and waits. */
  startWorker(opts?: Partial<CreateWorkerOptions>): Promise<RunningWorker>;
  /** Starts `interpret` on a compiled definition. */
  start(definition: CompiledDefinition, input?: unknown, extra?: Partial<RunInput> & { workflowId?: string }): Promise<WorkflowHandle>;
  graph(handle: WorkflowHandle): Promise<RunGraph>;
  close(): Promise<void>;
}

export interface RunningWorker {
  worker: Worker;
  stop(): Promise<void>;
}

let bundle: Promise<{ code: string } | { codePath: string }> | undefined;
function workflowBundle() {
  bundle ??= process.env.CEDILLE_WORKFLOW_BUNDLE ? Promise.resolve({ codePath: process.env.CEDILLE_WORKFLOW_BUNDLE }) : buildWorkflowBundle();
  return bundle;
}

/** `connection`: how the client and the workers connect (TLS, token), instead of plain TEMPORAL_ADDRESS. */
export async function temporalTestEnv(opts: { connection?: TemporalConnectionOptions } = {}): Promise<TemporalTestEnv> {
  quietRuntime();
  const address = opts.connection?.address ?? process.env.TEMPORAL_ADDRESS;
  if (!address) throw new Error('TEMPORAL_ADDRESS is not set: run tests with `npm test` (test/run.ts starts the server)');
  const connectionOptions = opts.connection ?? { address };
  const namespace = process.env.TEMPORAL_NAMESPACE ?? 'default';
  const taskQueue = `test-${randomUUID()}`;
  const connection = await Connection.connect(connectionOptions);
  const dataConverter = dataConverterFromEnv();
  const client = new Client({ connection, namespace, ...(dataConverter ? { dataConverter } : {}) });
  const natives: NativeConnection[] = [];
  const workers = new Set<RunningWorker>();

  const env: TemporalTestEnv = {
    address,
    namespace,
    taskQueue,
    client,
    dataConverter,
    async startWorker(opts = {}) {
      const native = await NativeConnection.connect(connectionOptions);
      natives.push(native);
      const worker = await createWorker({ connection: native, namespace, taskQueue, workflowBundle: await workflowBundle(), ...opts });
      const running = worker.run();
      const handle: RunningWorker = {
        worker,
        async stop() {
          if (worker.getState() === 'RUNNING') worker.shutdown();
          await running;
          workers.delete(handle);
        },
      };
      workers.add(handle);
      return handle;
    },
    start(definition, input, extra = {}) {
      const { workflowId = `${definition.name}-${randomUUID()}`, ...rest } = extra;
      return client.workflow.start('interpret', { taskQueue, workflowId, args: [ticketed(workflowId, { definition, input, ...rest })] });
    },
    graph(handle) {
      return handle.query(graphQuery);
    },
    async close() {
      for (const w of [...workers]) await w.stop();
      for (const n of natives) await n.close();
      await connection.close();
    },
  };
  return env;
}

/** The initiator of test runs that name none (a person who answers no approval). */
export const TEST_INITIATOR = 'test-runner';

/**
 * A run input signed as the API signs its starts (trust/run-ticket.ts), with the run's signing key
 * (CEDILLE_LINK_SECRET, set by test/run.ts): the worker admits it and trusts its initiator.
 */
export function ticketed(workflowId: string, run: RunInput): RunInput {
  const key = signingKeyFromEnv();
  if (!key) throw new Error('CEDILLE_LINK_SECRET is not set: run tests with `npm test`');
  const initiator = run.initiator ?? TEST_INITIATOR;
  return { ...run, initiator, ticket: signRunTicket({ workflowId, definition: run.definition, input: run.input ?? null, initiator }, key) };
}

/** An approval answer signed for `who` as the API signs its callers' answers (api/links/token.ts). */
export function signedAnswer(workflowId: string, stepId: string, who: { id: string; groups: readonly string[] }, decision: 'approve' | 'reject' = 'approve', comment?: string): ApprovalAnswer {
  const token = signAssertion({ workflowId, stepId, subject: who.id, groups: [...who.groups], decision }, signingKeyFromEnv()!);
  return { stepId, decision, token, ...(comment ? { comment } : {}) };
}

/** Polls until `check` returns a value (not undefined), or fails after `timeoutMs`. */
export async function eventually<T>(check: () => Promise<T | undefined> | T | undefined, timeoutMs = 20_000, what = 'condition'): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const value = await check();
      if (value !== undefined) return value;
    } catch (err) {
      last = err;
    }
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}${last ? `: ${(last as Error).message}` : ''}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/**
 * A claim-check reference resolved synchronously, from a local-directory store (CEDILLE_TEST_CLAIM_CHECK,
 * test/run.ts); references to other stores are decoded with the run's data converter (async).
 */
function redeemLocally(payload: Payload): Payload {
  const store = process.env.CEDILLE_CLAIM_CHECK_URL ? storeFromUrl(process.env.CEDILLE_CLAIM_CHECK_URL) : undefined;
  if (!(store instanceof LocalDirStore)) throw new Error('claim-check reference in history: decode it with the run\'s data converter (env.dataConverter)');
  const ref = claimCheckReference(payload);
  let bytes: Buffer | undefined;
  try {
    bytes = readFileSync(store.path(ref.key));
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
  }
  return storedPayload(ref, bytes, store.url);
}

let codec: AesGcmCodec | null | undefined;
/**
 * The value of a payload read from a raw history (`fetchHistory()` does not decode), decrypted first
 * when the run's codec encrypted it: tests that read activity inputs from history use this.
 */
export function payloadValue(payload: Payload | null | undefined): unknown {
  if (!payload) return undefined;
  if (isClaimCheck(payload)) payload = redeemLocally(payload);
  if (isEncrypted(payload)) {
    if (codec === undefined) {
      const ring = keyringFromEnv();
      codec = ring ? new AesGcmCodec(ring) : null;
    }
    if (!codec) throw new Error('encrypted payload in history, but CEDILLE_CODEC_KEYS is not set');
    payload = codec.decrypt(payload);
  }
  return defaultPayloadConverter.fromPayload(payload);
}
