// Runs the worker alone, against TEMPORAL_ADDRESS (the deployment entry point; `npm start` embeds it),
// over TLS/mTLS and with a bearer token when TEMPORAL_TLS_* / TEMPORAL_API_KEY_FILE say so.
import { Connection } from '@temporalio/client';
import { NativeConnection, Runtime } from '@temporalio/worker';
import { describeTemporalConnection, temporalConnectionFromEnv } from '../infra/temporal-connection.ts';
import { workerHealthListen, workspaceEgressExcept } from './config.ts';
import { startHealthServer } from './health-server.ts';
import { freePort } from '../infra/free-port.ts';
import { createWorker } from './worker.ts';
import { ensureSearchAttributes } from './search-attributes.ts';
import { loadNotifyConfig } from '../activities/notify/config.ts';
import { loadCatalog } from '../activities/catalog.ts';
import { openDefinitions } from './definitions.ts';

const temporal = temporalConnectionFromEnv();
const namespace = process.env.TEMPORAL_NAMESPACE ?? 'default';
workspaceEgressExcept(); // a malformed CEDILLE_WORKSPACE_EGRESS_EXCEPT stops the worker here, not at the first workspace
loadNotifyConfig(); // so does an invalid CEDILLE_NOTIFY_CONFIG or a link secret under 32 bytes, not the first notify.send

// With a health port, the Temporal runtime exports its metrics on loopback for /metrics to relay
// (installed before any connection: the runtime is created once per process).
const health = workerHealthListen();
const runtimeMetricsAddress = health ? `127.0.0.1:${await freePort()}` : undefined;
if (runtimeMetricsAddress) Runtime.install({ telemetryOptions: { metrics: { prometheus: { bindAddress: runtimeMetricsAddress } } } });

const client = await Connection.connect(temporal);
try {
  const added = await ensureSearchAttributes(client, namespace);
  if (added.length) console.log(`registered search attributes: ${added.join(', ')}`);
} catch (err) {
  console.warn(`could not check search attributes (needs operator rights): ${(err as Error).message}`);
} finally {
  await client.close();
}

const catalog = await loadCatalog();
const definitions = await openDefinitions(catalog);
const connection = await NativeConnection.connect(temporal);
// A workflow bundle built ahead (CEDILLE_WORKFLOW_BUNDLE) spares each worker bundling at start.
const prebuilt = process.env.CEDILLE_WORKFLOW_BUNDLE;
const worker = await createWorker({ connection, namespace, catalog, registry: definitions.registry, ...(prebuilt ? { workflowBundle: { codePath: prebuilt } } : {}) });
const running = worker.run();
const server = health ? await startHealthServer({ worker, connection, ...health, ...(runtimeMetricsAddress ? { runtimeMetricsAddress } : {}) }) : undefined;
console.log(`worker polling ${worker.options.taskQueue} on ${describeTemporalConnection(temporal)} (${namespace}); definitions: ${definitions.source}${server ? `; health and metrics on ${server.url}` : ''}`);
try {
  await running;
} finally {
  await server?.close();
  await connection.close();
  await definitions.close();
}
