// `npm test`: installs the pinned tools if needed, starts the shared real servers once (loopback,
// free ports), runs every test file with node's test runner, and tears the servers down even on
// failure. Tests find the servers through environment variables:
//   TEMPORAL_ADDRESS, TEMPORAL_NAMESPACE, CEDILLE_WORKFLOW_BUNDLE (pre-built workflow bundle), and,
//   when a file needs Kubernetes (see needsCluster), KUBECONFIG and CEDILLE_TEST_KUBECONFIG of a local
//   cluster (infra/cluster/: etcd, kube-apiserver, controllers, scheduler, kwok nodes); CEDILLE_TEST_GCS_URL
//   of a fake-gcs-server (needsGcs); CEDILLE_TEST_VAULT_ADDR + CEDILLE_TEST_VAULT_TOKEN of a dev-mode
//   OpenBao (needsVaultDev).
// CEDILLE_TEST_TEMPORAL selects the Temporal of the run: `dev` (default), the `temporal server start-dev`
// (SQLite in memory); `server`, the production Temporal server on a throwaway PostgreSQL
// (infra/tools/temporal-server.ts), which TEMPORAL_ADDRESS then names. That real server is also started
// when a file needs it whatever the selection (needsTemporalServer), and named by
// CEDILLE_TEST_TEMPORAL_SERVER_ADDRESS (+ _NAMESPACE). CEDILLE_TEST_POSTGRES_URL, a superuser URL of a
// PostgreSQL (that server's, or one started alone), serves tests that want databases of their own
// (needsPostgres, or every API database with CEDILLE_TEST_DATABASE=postgres).
// CEDILLE_TEST_KUBE_USER selects who the activities are in the local cluster: `admin` (default), the
// admin kubeconfig; `worker`, the worker's ServiceAccount of infra/k8s bound to the shipped roles
// (infra/cluster/worker-identity.ts): KUBECONFIG then holds its token and CEDILLE_TEST_KUBECONFIG stays
// the admin's (test setup). The API server audits that ServiceAccount; at the end the run prints the
// permissions it used and, with CEDILLE_TEST_RBAC_USAGE_OUT=<file>, writes them there (infra/cluster/audit.ts).
// `worker-unrestricted` also binds it to cluster-admin: what the activities ask for when nothing is refused.
// Arguments narrow the run: `npm test -- test/compiler` or a file list.
// Every payload of the run is encrypted (codec/), as deployments do: a fresh key in the scratch dir as
// CEDILLE_CODEC_KEYS, which test clients, workers and APIs pick up (test/support/); tests that read raw
// history payloads decode them with payloadValue (test/support/temporal.ts). CEDILLE_TEST_CODEC=0 runs
// in clear (e.g. to read histories with a plain `temporal workflow show`). CEDILLE_TEST_CLAIM_CHECK=<threshold>
// (e.g. 1KiB) runs it with the claim check on (codec/claim-check.ts): every payload above the threshold goes
// by reference to a directory in the scratch dir.
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync, readdirSync, statSync } from 'node:fs';
import { KubeConfig } from '@kubernetes/client-node';
import { KubeClient } from '../activities/kubernetes/_client.ts';
import { tmpdir, cpus } from 'node:os';
import { join, relative } from 'node:path';
import { pathToFileURL } from 'node:url';
import { startDevServer } from '../infra/tools/temporal-dev-server.ts';
import { buildWorkflowBundle } from '../worker/bundle.ts';
import { ensureChromium } from '../infra/tools/chromium.ts';
import { ensureClusterTools } from '../infra/tools/kubernetes/index.ts';
import { startLocalCluster, type LocalCluster } from '../infra/cluster/local-cluster.ts';
import { needsCluster, needsGcs, needsPostgres, needsTemporalServer, needsVaultDev } from '../infra/cluster/test-files.ts';
import { startPostgres } from '../infra/tools/postgres.ts';
import { startFakeGcs, type FakeGcs } from '../infra/tools/fake-gcs-server.ts';
import { startOpenBaoDev, type OpenBaoDev } from '../infra/tools/openbao.ts';
import { ensureKeyFile } from '../codec/index.ts';
import { ensureTemporalServer, startTemporalOnPostgres } from '../infra/tools/temporal-server.ts';
import { installWorkerIdentity, workerUser, type WorkerIdentity } from '../infra/cluster/worker-identity.ts';
import { permissionsUsed } from '../infra/cluster/audit.ts';

function testFiles(paths: string[]): string[] {
  const out: string[] = [];
  const walk = (p: string) => {
    if (statSync(p).isDirectory()) for (const f of readdirSync(p).sort()) walk(join(p, f));
    else if (p.endsWith('.test.ts')) out.push(p);
  };
  for (const p of paths.length ? paths : ['test']) walk(p);
  return out;
}

const files = testFiles(process.argv.slice(2));
const temporalKind = process.env.CEDILLE_TEST_TEMPORAL || 'dev';
if (temporalKind !== 'dev' && temporalKind !== 'server') throw new Error(`CEDILLE_TEST_TEMPORAL=${temporalKind}: expected dev or server`);
const kubeUser = process.env.CEDILLE_TEST_KUBE_USER || 'admin';
if (!['admin', 'worker', 'worker-unrestricted'].includes(kubeUser)) throw new Error(`CEDILLE_TEST_KUBE_USER=${kubeUser}: expected admin, worker or worker-unrestricted`);
const wantsRealTemporal = temporalKind === 'server' || files.some(needsTemporalServer);
// Only browser tests need Chromium; install it (as root) before any server starts.
const chromium = files.some((f) => f.endsWith('approval-page.test.ts')) ? await ensureChromium() : undefined;
// Kubernetes tests need the control plane; building it (first run only) takes minutes, so only then.
const clusterTools = files.some(needsCluster) ? await ensureClusterTools() : undefined;
// The same for the real Temporal server (~4 min the first time, seconds after).
if (wantsRealTemporal) await ensureTemporalServer();
const scratch = mkdtempSync(join(tmpdir(), 'cedille-test-'));
const auditedUser = clusterTools && kubeUser !== 'admin' ? await workerUser(clusterTools.kubectl) : undefined;

const starts = await Promise.allSettled([
  temporalKind === 'dev' ? startDevServer() : undefined,
  wantsRealTemporal ? startTemporalOnPostgres({ dir: mkdtempSync(join(scratch, 'temporal-server-')) }) : undefined,
  clusterTools ? startLocalCluster({ tools: clusterTools, ...(auditedUser ? { auditUsers: [auditedUser] } : {}) }) : undefined,
  files.some(needsGcs) ? startFakeGcs({ dataDir: mkdtempSync(join(scratch, 'gcs-')) }) : undefined,
  files.some(needsVaultDev) ? startOpenBaoDev() : undefined,
  // The real server's PostgreSQL serves these files when it runs.
  !wantsRealTemporal && (files.some(needsPostgres) || process.env.CEDILLE_TEST_DATABASE === 'postgres') ? startPostgres() : undefined,
] as const);
const started = <T>(r: PromiseSettledResult<T>): T | undefined => (r.status === 'fulfilled' ? r.value : undefined);
const devServer = started(starts[0]);
const real = started(starts[1]);
const cluster: LocalCluster | undefined = started(starts[2]);
const gcs: FakeGcs | undefined = started(starts[3]);
const vault: OpenBaoDev | undefined = started(starts[4]);
const postgres = real?.postgres ?? started(starts[5]);
const server = temporalKind === 'dev' ? devServer : real?.server;
const cleanup = async () => {
  await Promise.all([devServer?.stop(), real?.stop(), cluster?.stop(), gcs?.stop(), vault?.stop(), real ? undefined : postgres?.stop()]);
  rmSync(scratch, { recursive: true, force: true });
};
const failedStart = starts.find((r) => r.status === 'rejected');
if (!server || failedStart) {
  await cleanup();
  throw (failedStart as PromiseRejectedResult).reason;
}
process.on('SIGINT', () => void cleanup().then(() => process.exit(130)));
process.on('SIGTERM', () => void cleanup().then(() => process.exit(143)));

let code = 1;
let worker: WorkerIdentity | undefined;
try {
  if (cluster && kubeUser !== 'admin') {
    worker = await installWorkerIdentity({ kubectl: clusterTools!.kubectl, adminKubeconfig: cluster.kubeconfigPath, dir: scratch });
    if (kubeUser === 'worker-unrestricted') await unrestricted(cluster.kubeconfigPath, worker.user);
  }
  const bundlePath = join(scratch, 'workflow-bundle.js');
  const codecKeys = /^(0|false|no|off)$/i.test(process.env.CEDILLE_TEST_CODEC ?? '') ? undefined : join(scratch, 'codec-keys');
  if (codecKeys) ensureKeyFile(codecKeys);
  const claimCheckThreshold = process.env.CEDILLE_TEST_CLAIM_CHECK?.trim() || undefined;
  writeFileSync(bundlePath, (await buildWorkflowBundle()).code);
  const k8s = [
    real && real.server !== server ? `; temporal server ${real.server.address}` : '',
    postgres ? `; postgresql ${postgres.host}:${postgres.port}` : '',
    cluster ? `; kubernetes ${cluster.server} (KUBECONFIG=${worker?.kubeconfigPath ?? cluster.kubeconfigPath}${worker ? `, as ${worker.user}` : ''})` : '',
    gcs ? `; gcs ${gcs.url}` : '',
    vault ? `; openbao ${vault.address}` : '',
    codecKeys ? '; payloads encrypted' : '',
    claimCheckThreshold ? `; payloads over ${claimCheckThreshold} by reference` : '',
  ].join('');
  process.stderr.write(`[test] temporal (${temporalKind}) ${server.address}${k8s}; ${files.length} test files\n`);
  code = await new Promise<number>((resolve) => {
    const child = spawn(
      process.execPath,
      ['--import', 'tsx', '--test', `--test-concurrency=${Math.max(1, cpus().length)}`, ...files.map((f) => relative(process.cwd(), f))],
      {
        stdio: 'inherit',
        env: {
          ...process.env,
          TEMPORAL_ADDRESS: server.address,
          TEMPORAL_NAMESPACE: server.namespace,
          CEDILLE_TEST_TEMPORAL: temporalKind,
          ...(real ? { CEDILLE_TEST_TEMPORAL_SERVER_ADDRESS: real.server.address, CEDILLE_TEST_TEMPORAL_SERVER_NAMESPACE: real.server.namespace } : {}),
          ...(postgres ? { CEDILLE_TEST_POSTGRES_URL: postgres.url } : {}),
          CEDILLE_WORKFLOW_BUNDLE: bundlePath,
          CEDILLE_TEST_SCRATCH: scratch,
          // The platform signing key of the run (trust/signing-key.ts): test APIs sign run tickets
          // and approval assertions with it, test workers verify them.
          CEDILLE_LINK_SECRET: process.env.CEDILLE_LINK_SECRET || randomBytes(32).toString('base64url'),
          ...(codecKeys ? { CEDILLE_CODEC_KEYS: codecKeys } : {}),
          ...(claimCheckThreshold ? { CEDILLE_CLAIM_CHECK_URL: pathToFileURL(join(scratch, 'claim-check')).href, CEDILLE_CLAIM_CHECK_THRESHOLD: claimCheckThreshold } : {}),
          ...(chromium ? { CHROMIUM_PATH: chromium } : {}),
          ...(cluster ? { KUBECONFIG: worker?.kubeconfigPath ?? cluster.kubeconfigPath, CEDILLE_TEST_KUBECONFIG: cluster.kubeconfigPath, CEDILLE_TEST_KUBE_USER: kubeUser } : {}),
          ...(gcs ? { CEDILLE_TEST_GCS_URL: gcs.url } : {}),
          ...(vault ? { CEDILLE_TEST_VAULT_ADDR: vault.address, CEDILLE_TEST_VAULT_TOKEN: vault.rootToken } : {}),
        },
      },
    );
    child.on('exit', (c, sig) => resolve(c ?? (sig ? 1 : 0)));
  });
  if (worker && cluster?.auditLogPath) reportPermissions(permissionsUsed(readFileSync(cluster.auditLogPath, 'utf8'), worker.user));
} finally {
  await cleanup();
}
process.exit(code);

/** Binds the worker's ServiceAccount to cluster-admin as well (`worker-unrestricted`). */
async function unrestricted(adminKubeconfig: string, user: string): Promise<void> {
  const [, , namespace, name] = user.split(':');
  const kc = new KubeConfig();
  kc.loadFromFile(adminKubeconfig);
  await new KubeClient(kc).apply({
    apiVersion: 'rbac.authorization.k8s.io/v1',
    kind: 'ClusterRoleBinding',
    metadata: { name: 'cedille-test-worker-unrestricted' },
    roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: 'cluster-admin' },
    subjects: [{ kind: 'ServiceAccount', name: name!, namespace: namespace! }],
  });
}

function reportPermissions(used: string[]): void {
  process.stderr.write(`[test] the worker's ServiceAccount used ${used.length} permissions:\n${used.map((p) => `  ${p}`).join('\n')}\n`);
  const out = process.env.CEDILLE_TEST_RBAC_USAGE_OUT;
  if (out) writeFileSync(out, JSON.stringify(used, null, 2) + '\n');
}
