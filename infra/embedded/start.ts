// `npm start`, the embedded default. Without TEMPORAL_ADDRESS it runs a Temporal dev server (SQLite
// file, log and dev tokens in the data dir, Web UI), then the worker and the API in this process;
// with TEMPORAL_ADDRESS it connects there and starts no server. SIGINT/SIGTERM stop what it started:
// the worker drains (the Temporal runtime also reacts to these signals), then the API, the
// connection and the dev server close in reverse order of start.
// Kubernetes: with KUBECONFIG the activities use that cluster; with `--local-cluster` (or
// CEDILLE_LOCAL_CLUSTER=1) and no KUBECONFIG it runs a local one (infra/cluster/: etcd, kube-apiserver,
// controllers, kwok nodes) kept in <data dir>/cluster, and exports its KUBECONFIG to the worker.
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { Connection } from '@temporalio/client';
import { DefaultLogger, NativeConnection, Runtime } from '@temporalio/worker';
import { buildApi } from '../../api/app.ts';
import { loadCatalog } from '../../activities/catalog.ts';
import { openDatabase } from '../../db/index.ts';
import { databaseDefinitionStore, DefinitionRegistry } from '../../workflows/registry/index.ts';
import { apiConfigFromEnv, DEFAULT_API_PORT } from '../../api/config.ts';
import { ensureSearchAttributes } from '../../worker/search-attributes.ts';
import { createWorker } from '../../worker/worker.ts';
import { startLocalCluster } from '../cluster/local-cluster.ts';
import { startSimulatedCsiProvisioner } from '../cluster/simulated-csi-provisioner.ts';
import { dataDir } from '../tools/paths.ts';
import { ensureTemporalCli } from '../tools/temporal.ts';
import { freePort, portOrFree, startDevServer } from '../tools/temporal-dev-server.ts';
import { temporalConnectionFromEnv, type TemporalConnectionOptions } from '../temporal-connection.ts';
import { banner } from './banner.ts';
import { endpointsFile, portOf, readEndpoints, type Endpoints } from './endpoints.ts';
import { writeFileAtomic } from '../tools/atomic-file.ts';
import { codecDisabled, ensureKeyFile } from '../../codec/index.ts';
import { shareSigningKey } from './signing-key.ts';

const env = process.env;
const stopping = new AbortController();
const undo: Array<() => Promise<unknown>> = [];

const say = (msg: string) => process.stderr.write(`[start] ${msg}\n`);
// The SDK's INFO lines would bury the banner; warnings and errors still show.
Runtime.install({ logger: new DefaultLogger('WARN') });

// Ctrl-C signals the whole foreground process group and npm relays it as well, so one keypress can
// arrive twice: repeats are ignored. (`npm start` runs `node --import tsx`, not the tsx CLI, whose
// signal relay SIGKILLs a child that does not acknowledge within 60 ms, as a busy one may not.) Stopping is bounded by the worker's shutdown grace time and the
// dev server's SIGKILL after 10 s.
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.on(signal, () => {
    if (stopping.signal.aborted) return;
    say(`${signal}: stopping`);
    stopping.abort();
  });
}

/** A server started by hand lacks the search attributes the interpreter upserts (as worker/main.ts does). */
async function registerSearchAttributes(temporal: TemporalConnectionOptions, namespace: string): Promise<void> {
  const client = await Connection.connect(temporal);
  try {
    const added = await ensureSearchAttributes(client, namespace);
    if (added.length) say(`registered search attributes: ${added.join(', ')}`);
  } catch (err) {
    say(`could not check the search attributes (needs operator rights): ${(err as Error).message}`);
  } finally {
    await client.close();
  }
}

function uiOrigins(uiUrl: string): string[] {
  const u = new URL(uiUrl);
  const names = ['127.0.0.1', 'localhost'].includes(u.hostname) ? ['127.0.0.1', 'localhost'] : [u.hostname];
  return names.map((h) => `${u.protocol}//${h}${u.port ? `:${u.port}` : ''}`);
}

/** The first of `candidates` that is free, else any free port. */
async function firstFreePort(...candidates: (number | undefined)[]): Promise<number> {
  for (const c of candidates) if (c !== undefined && (await portOrFree(c)) === c) return c;
  return freePort();
}

/** Starts everything; resolves to the worker's run promise, which settles once the worker has stopped. */
async function start(): Promise<Promise<void>> {
  const dir = dataDir(env);
  mkdirSync(dir, { recursive: true });
  const namespace = env.TEMPORAL_NAMESPACE || 'default';
  let address = env.TEMPORAL_ADDRESS || undefined;
  let uiUrl: string | undefined;
  let cli = 'temporal';
  // Payloads in history are encrypted (codec/, docs/SECURITY.md): without CEDILLE_CODEC_KEYS, with a
  // dev key generated once in the data dir (CEDILLE_CODEC_KEYS=off: clear). The worker and the API read the variable.
  if (!env.CEDILLE_CODEC_KEYS) {
    env.CEDILLE_CODEC_KEYS = join(dir, 'codec-keys');
    ensureKeyFile(env.CEDILLE_CODEC_KEYS);
  }
  // Payloads above 128 KiB (a class roster) are kept out of history, encrypted, in the data dir
  // (codec/claim-check.ts); CEDILLE_CLAIM_CHECK_URL chooses another store, `off` none.
  if (!env.CEDILLE_CLAIM_CHECK_URL && !codecDisabled(env)) env.CEDILLE_CLAIM_CHECK_URL = pathToFileURL(join(dir, 'claim-check')).href;
  // The API's address is chosen first: the UI is told where the codec endpoint is.
  // Ports taken by something else move to free ones; the ones chosen last time (endpoints.json) come first.
  const previous = readEndpoints(dir);
  const apiPort = env.API_PORT === '0' ? String(await freePort()) : env.API_PORT || String(await firstFreePort(portOf(previous?.apiUrl), DEFAULT_API_PORT));
  const codecEndpoint = codecDisabled(env) ? undefined : `${(env.API_PUBLIC_URL || `http://${env.API_HOST || '127.0.0.1'}:${apiPort}`).replace(/\/+$/, '')}/v1/codec`;
  if (!address) {
    cli = await ensureTemporalCli();
    say(`starting the Temporal dev server (log: ${join(dir, 'temporal.log')})`);
    const server = await startDevServer({
      dbFile: join(dir, 'temporal.sqlite'),
      logFile: join(dir, 'temporal.log'),
      logLevel: 'warn',
      ui: true,
      port: await firstFreePort(portOf(previous?.temporalAddress), 7233),
      uiPort: await firstFreePort(portOf(previous?.uiUrl), 8233),
      uiCodecEndpoint: codecEndpoint,
      namespace,
      signal: stopping.signal,
    });
    undo.push(() => server.stop());
    ({ address, uiUrl } = server);
  }
  // An existing Temporal may want TLS/mTLS and a token (TEMPORAL_TLS_*, TEMPORAL_API_KEY_FILE); the dev server is plaintext.
  const temporal: TemporalConnectionOptions = env.TEMPORAL_ADDRESS ? temporalConnectionFromEnv(env) : { address };
  if (env.TEMPORAL_ADDRESS) await registerSearchAttributes(temporal, namespace);

  let kubernetes: { kubeconfig: string; server?: string; local: boolean } | undefined;
  if (env.KUBECONFIG) {
    kubernetes = { kubeconfig: env.KUBECONFIG, local: false };
  } else if (process.argv.includes('--local-cluster') || /^(1|true|yes)$/i.test(env.CEDILLE_LOCAL_CLUSTER ?? '')) {
    const clusterDir = join(dir, 'cluster');
    say(`starting the local Kubernetes cluster (first start builds it: minutes; logs: ${join(clusterDir, 'logs')})`);
    const cluster = await startLocalCluster({
      dataDir: clusterDir,
      apiServerPort: await portOrFree(6443),
      signal: stopping.signal,
      log: (msg) => say(`cluster: ${msg}`),
    });
    undo.push(() => cluster.stop());
    // No storage driver runs here: volumes of the `mayastor` class are bound by a simulation.
    const csi = await startSimulatedCsiProvisioner(cluster.kubeconfigPath);
    undo.push(async () => csi.stop());
    env.KUBECONFIG = cluster.kubeconfigPath; // the worker's Kubernetes activities read it
    kubernetes = { kubeconfig: cluster.kubeconfigPath, server: cluster.server, local: true };
  }

  // The API's configuration comes first: it creates the signing key (<data dir>/link-secret) when
  // none is configured, and the worker must verify run tickets and approvals with that same key.
  const config = apiConfigFromEnv({
    ...env,
    TEMPORAL_ADDRESS: address,
    TEMPORAL_NAMESPACE: namespace,
    API_PORT: apiPort,
    // The UI calls the codec endpoint from the browser, from either name of the loopback address.
    CEDILLE_CODEC_CORS_ORIGINS: env.CEDILLE_CODEC_CORS_ORIGINS || (uiUrl ? uiOrigins(uiUrl).join(',') : ''),
  });
  shareSigningKey(env, dir, config.linkSecret);

  // One database and one registry for the worker and the API: a definition registered through the API
  // is what the worker runs by its type name.
  const database = await openDatabase({ url: config.databaseUrl, dataDir: dir });
  undo.push(() => database.close());
  const catalog = await loadCatalog();
  const registry = await DefinitionRegistry.load({ catalog, store: databaseDefinitionStore(database.db) });

  const connection = await NativeConnection.connect(temporal);
  undo.push(() => connection.close());
  say('starting the worker');
  const prebuilt = env.CEDILLE_WORKFLOW_BUNDLE; // test/run.ts bundles the workflows once per run
  const worker = await createWorker({ connection, namespace, catalog, registry, ...(prebuilt && { workflowBundle: { codePath: prebuilt } }) });
  stopping.signal.throwIfAborted();
  const running = worker.run();
  const stopWorker = () => worker.getState() === 'RUNNING' && worker.shutdown();
  stopping.signal.addEventListener('abort', stopWorker);
  undo.push(async () => {
    stopWorker();
    await running.catch(() => undefined); // a worker failure is reported by the caller
  });

  const api = await buildApi({ config, logger: { level: 'warn' }, registry, database });
  undo.push(() => api.close());
  const apiUrl = await api.listen({ host: config.host, port: config.port });
  // For the CLI (cli/config.ts) and the next start; not a secret, so readable by the user's other tools.
  const endpoints: Endpoints = { apiUrl, ...(env.TEMPORAL_ADDRESS ? {} : { temporalAddress: address }), ...(uiUrl ? { uiUrl } : {}), pid: process.pid, startedAt: new Date().toISOString() };
  writeFileAtomic(endpointsFile(dir), `${JSON.stringify(endpoints, null, 2)}\n`, { mode: 0o644 });

  process.stdout.write(
    banner({
      temporalAddress: address,
      namespace,
      taskQueue: worker.options.taskQueue,
      uiUrl,
      apiUrl,
      dataDir: dir,
      ...(config.tokens ? { tokens: config.tokens } : {}),
      devTokens: config.devTokens,
      cli,
      kubernetes,
      ...(codecEndpoint ? { codec: { keys: env.CEDILLE_CODEC_KEYS, endpoint: codecEndpoint } } : {}),
    }),
  );
  return running;
}

let exitCode = 0;
try {
  await (await start());
} catch (err) {
  if (!stopping.signal.aborted) {
    say(`failed: ${(err as Error).stack ?? err}`);
    exitCode = 1;
  }
} finally {
  for (const step of undo.reverse()) {
    await step().catch((err: Error) => {
      say(`while stopping: ${err.message}`);
      exitCode = 1;
    });
  }
}
say('stopped');
// The Temporal runtime may keep native handles alive a little longer; everything we own is closed.
process.exit(exitCode);
