// A worker in a child process, so a test can SIGKILL it mid-run (a crash: no graceful shutdown, no
// activity completion, no sticky-queue handover) and start another one.
//
//   tsx test/support/worker-process.ts <taskQueue> [--no-cache]
//
// Uses TEMPORAL_ADDRESS, TEMPORAL_NAMESPACE and CEDILLE_WORKFLOW_BUNDLE like the in-process test
// workers; hosts the interpreter and the catalog plus test/support/activities. Prints "ready" on
// stdout once the worker is polling. `--no-cache` turns the workflow cache (and with it sticky
// task queues) off: after a crash the server then hands the run's next workflow task to any worker
// at once instead of waiting for the dead worker's sticky queue to time out.
import { NativeConnection, Runtime, DefaultLogger } from '@temporalio/worker';
import { createWorker } from '../../worker/worker.ts';
import { buildWorkflowBundle } from '../../worker/bundle.ts';
import { NO_DEFINITIONS, testCatalog } from './activities/index.ts';

const [taskQueue, ...flags] = process.argv.slice(2);
const address = process.env.TEMPORAL_ADDRESS;
if (!taskQueue || !address) {
  console.error('usage: TEMPORAL_ADDRESS=host:port tsx test/support/worker-process.ts <taskQueue> [--no-cache]');
  process.exit(2);
}

Runtime.install({ logger: new DefaultLogger(process.env.CEDILLE_TEST_LOG === '1' ? 'INFO' : 'ERROR') });
const connection = await NativeConnection.connect({ address });
const worker = await createWorker({
  connection,
  namespace: process.env.TEMPORAL_NAMESPACE ?? 'default',
  taskQueue,
  catalog: await testCatalog(),
  registry: NO_DEFINITIONS,
  workflowBundle: process.env.CEDILLE_WORKFLOW_BUNDLE ? { codePath: process.env.CEDILLE_WORKFLOW_BUNDLE } : await buildWorkflowBundle(),
  tuning: { identity: `worker-process-${process.pid}`, ...(flags.includes('--no-cache') ? { maxCachedWorkflows: 0 } : {}) },
});
const running = worker.run();
process.stdout.write('ready\n');
for (const signal of ['SIGTERM', 'SIGINT'] as const) process.once(signal, () => worker.shutdown());
await running;
await connection.close();
