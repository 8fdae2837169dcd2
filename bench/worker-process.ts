// A benchmark worker in a process of its own, so its memory can be measured apart from the bench
// process (which bundles the workflow code and runs the client):
//
//   node --import tsx bench/worker-process.ts <address> <namespace> <taskQueue> <bundlePath> [tuningJson]
//
// Hosts the bench bundle (interpreter + hand-written baselines, prebuilt at <bundlePath>) and the
// catalog, with the given tuning. Prints "ready" on stdout once polling; SIGTERM shuts it down.
// CEDILLE_BENCH_DEFINITIONS=1: the built-in definitions' workflow types too (e.g. `classWorkspaces`).
import { NativeConnection } from '@temporalio/worker';
import { createWorker, type CreateWorkerOptions } from '../worker/worker.ts';
import { quietRuntime } from './common.ts';

const [address, namespace, taskQueue, bundlePath, tuningJson] = process.argv.slice(2);
if (!address || !namespace || !taskQueue || !bundlePath) {
  console.error('usage: node --import tsx bench/worker-process.ts <address> <namespace> <taskQueue> <bundlePath> [tuningJson]');
  process.exit(2);
}

quietRuntime();
const connection = await NativeConnection.connect({ address });
const worker = await createWorker({
  connection,
  namespace,
  taskQueue,
  workflowBundle: { codePath: bundlePath },
  ...(process.env.CEDILLE_BENCH_DEFINITIONS === '1' ? {} : { registry: { getByWorkflowType: () => undefined, getByHash: () => undefined, refresh: async () => undefined } }),
  ...(tuningJson ? { tuning: JSON.parse(tuningJson) as CreateWorkerOptions['tuning'] } : {}),
});
const running = worker.run();
process.stdout.write('ready\n');
for (const signal of ['SIGTERM', 'SIGINT'] as const) process.once(signal, () => worker.shutdown());
await running;
await connection.close();
