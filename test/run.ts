// `npm test`: installs the pinned tools if needed, starts the shared real servers once (loopback,
// free ports), runs every test file with node's test runner, and tears the servers down even on
// failure. Tests find the servers through environment variables:
//   TEMPORAL_ADDRESS, TEMPORAL_NAMESPACE, CEDILLE_WORKFLOW_BUNDLE (pre-built workflow bundle), and,
//   when a file needs Kubernetes (see needsCluster), KUBECONFIG and CEDILLE_TEST_KUBECONFIG of a local
//   cluster (infra/cluster/: etcd, kube-apiserver, controllers, scheduler, kwok nodes).
// Arguments narrow the run: `npm test -- test/compiler` or a file list.
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync, readdirSync, statSync } from 'node:fs';
import { tmpdir, cpus } from 'node:os';
import { join, relative } from 'node:path';
import { startDevServer } from '../infra/tools/temporal-dev-server.ts';
import { buildWorkflowBundle } from '../worker/bundle.ts';
import { ensureChromium } from '../infra/tools/chromium.ts';
import { ensureClusterTools } from '../infra/tools/kubernetes/index.ts';
import { startLocalCluster, type LocalCluster } from '../infra/cluster/local-cluster.ts';
import { needsCluster } from '../infra/cluster/test-files.ts';

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
// Only browser tests need Chromium; install it (as root) before any server starts.
const chromium = files.some((f) => f.endsWith('approval-page.test.ts')) ? await ensureChromium() : undefined;
// Kubernetes tests need the control plane; building it (first run only) takes minutes, so only then.
const clusterTools = files.some(needsCluster) ? await ensureClusterTools() : undefined;
const scratch = mkdtempSync(join(tmpdir(), 'cedille-test-'));
const [temporalStart, clusterStart] = await Promise.allSettled([
  startDevServer(),
  clusterTools ? startLocalCluster({ tools: clusterTools }) : Promise.resolve(undefined),
]);
const server = temporalStart.status === 'fulfilled' ? temporalStart.value : undefined;
const cluster: LocalCluster | undefined = clusterStart.status === 'fulfilled' ? clusterStart.value : undefined;
const cleanup = async () => {
  await Promise.all([server?.stop(), cluster?.stop()]);
  rmSync(scratch, { recursive: true, force: true });
};
if (!server || (clusterTools && !cluster)) {
  await cleanup();
  throw temporalStart.status === 'rejected' ? temporalStart.reason : (clusterStart as PromiseRejectedResult).reason;
}
process.on('SIGINT', () => void cleanup().then(() => process.exit(130)));
process.on('SIGTERM', () => void cleanup().then(() => process.exit(143)));

let code = 1;
try {
  const bundlePath = join(scratch, 'workflow-bundle.js');
  writeFileSync(bundlePath, (await buildWorkflowBundle()).code);
  const k8s = cluster ? `; kubernetes ${cluster.server} (KUBECONFIG=${cluster.kubeconfigPath})` : '';
  process.stderr.write(`[test] temporal ${server.address}${k8s}; ${files.length} test files\n`);
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
          CEDILLE_WORKFLOW_BUNDLE: bundlePath,
          CEDILLE_TEST_SCRATCH: scratch,
          ...(chromium ? { CHROMIUM_PATH: chromium } : {}),
          ...(cluster ? { KUBECONFIG: cluster.kubeconfigPath, CEDILLE_TEST_KUBECONFIG: cluster.kubeconfigPath } : {}),
        },
      },
    );
    child.on('exit', (c, sig) => resolve(c ?? (sig ? 1 : 0)));
  });
} finally {
  await cleanup();
}
process.exit(code);
