// `npm start -- --local-cluster` end to end (against the test run's Temporal server): it runs the local
// cluster in <data dir>/cluster, prints its KUBECONFIG, keeps its state across a restart and leaves no
// process behind after SIGINT; with KUBECONFIG set it starts none.
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readdirSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { kubeClients } from '../support/cluster.ts';
import { npmStart as startStack, type StartedStack } from '../support/npm-start.ts';

const testServer = process.env.TEMPORAL_ADDRESS!;
assert.ok(testServer, 'TEMPORAL_ADDRESS comes from test/run.ts: npx tsx test/run.ts test/cluster/start.test.ts');

/** `npm start` against the test run's Temporal server (test/support/npm-start.ts). */
function npmStart(args: string[], env: NodeJS.ProcessEnv): Promise<StartedStack> {
  return startStack(args, { TEMPORAL_ADDRESS: testServer, API_PORT: '0', ...env });
}

/** Live processes whose command line mentions `text` (the cluster's components name its data dir). */
async function processesMentioning(text: string): Promise<string[]> {
  const scan = () =>
    readdirSync('/proc')
      .filter((p) => /^\d+$/.test(p))
      .flatMap((pid) => {
        try {
          const cmdline = readFileSync(`/proc/${pid}/cmdline`, 'utf8').replaceAll('\0', ' ');
          return cmdline.includes(text) && !cmdline.includes('node ') ? [`${pid} ${cmdline}`] : [];
        } catch {
          return [];
        }
      });
  for (let i = 0; i < 30 && scan().length; i++) await new Promise((r) => setTimeout(r, 100));
  return scan();
}

describe('npm start -- --local-cluster', () => {
  it('runs the cluster in the data dir, prints its KUBECONFIG, keeps it across a restart, stops it on SIGINT', async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'cedille-start-k8s-'));
    const kubeconfig = join(dataDir, 'cluster', 'kubeconfig');
    const env = { CEDILLE_DATA_DIR: dataDir, KUBECONFIG: '' };

    let app = await npmStart(['--local-cluster'], env);
    try {
      assert.match(app.line('Kubernetes'), new RegExp(`^KUBECONFIG=${kubeconfig} +\\(local cluster https://127\\.0\\.0\\.1:\\d+`));
      const { core } = kubeClients(kubeconfig);
      assert.equal((await core.listNode()).items.length, 3);
      await core.createNamespace({ body: { metadata: { name: 'kept-across-restarts' } } });
    } finally {
      assert.equal((await app.interrupt(20_000)).code, 0);
    }
    assert.deepEqual(await processesMentioning(dataDir), []);

    app = await npmStart([], { ...env, CEDILLE_LOCAL_CLUSTER: '1' });
    try {
      const ns = await kubeClients(kubeconfig).core.readNamespace({ name: 'kept-across-restarts' });
      assert.equal(ns.status?.phase, 'Active');
    } finally {
      assert.equal((await app.interrupt(20_000)).code, 0);
    }
    assert.deepEqual(await processesMentioning(dataDir), []);
  });

  it('with KUBECONFIG set, uses that cluster and starts none', async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'cedille-start-k8s-'));
    const given = process.env.KUBECONFIG!;
    const app = await npmStart(['--local-cluster'], { CEDILLE_DATA_DIR: dataDir, KUBECONFIG: given });
    try {
      assert.match(app.line('Kubernetes'), new RegExp(`^KUBECONFIG=${given} +\\(not managed here\\)`));
      assert.ok(!existsSync(join(dataDir, 'cluster')));
    } finally {
      assert.equal((await app.interrupt(20_000)).code, 0);
    }
  });
});
