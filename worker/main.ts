// Runs the worker alone, against TEMPORAL_ADDRESS (the deployment entry point; `npm start` embeds it).
import { Connection } from '@temporalio/client';
import { NativeConnection } from '@temporalio/worker';
import { createWorker } from './worker.ts';
import { ensureSearchAttributes } from './search-attributes.ts';

const address = process.env.TEMPORAL_ADDRESS ?? '127.0.0.1:7233';
const namespace = process.env.TEMPORAL_NAMESPACE ?? 'default';

const client = await Connection.connect({ address });
try {
  const added = await ensureSearchAttributes(client, namespace);
  if (added.length) console.log(`registered search attributes: ${added.join(', ')}`);
} catch (err) {
  console.warn(`could not check search attributes (needs operator rights): ${(err as Error).message}`);
} finally {
  await client.close();
}

const connection = await NativeConnection.connect({ address });
const worker = await createWorker({ connection, namespace });
console.log(`worker polling ${worker.options.taskQueue} on ${address} (${namespace})`);
await worker.run();
await connection.close();
