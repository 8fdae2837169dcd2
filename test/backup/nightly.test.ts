// The nightly backup workflow end to end: real Temporal, the local cluster's API server (snapshot CRDs),
// fake-gcs-server, dev OpenBao (transit + Kubernetes auth), and the real backup agent run by the simulated
// kubelet on directories standing for the volumes (infra/cluster/simulated-snapshot-controller.ts).
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { runFailure } from '../activities/_support.ts';
import { LABEL_BACKUP_RUN, SNAPSHOT_API_VERSION } from '../../activities/kubernetes/builders/backup.ts';
import { listBackups, storage, volumePrefix } from '../../activities/gcs/_storage.ts';
import { retentionPlan } from '../../activities/backup/_retention.ts';
import { createServer, request as httpRequest } from 'node:http';
import type { AddressInfo } from 'node:net';
import { eventually } from '../support/cluster.ts';
import { getObject, gcsUrl, objectExists, putObject, randomContent } from './_agent-support.ts';
import { backupHarness, noLeftovers, type BackupHarness } from './_workflow-support.ts';

/** A pass-through proxy to fake-gcs-server that answers 503 while `down` (a GCS outage). */
async function flakyGcs(): Promise<{ url: string; down: boolean; refused: number; close(): void }> {
  const upstream = new URL(gcsUrl());
  const state = { url: '', down: false, refused: 0, close: () => server.close() };
  const server = createServer((req, res) => {
    if (state.down) {
      state.refused++;
      req.resume();
      res.writeHead(503, { 'content-type': 'application/json' }).end(JSON.stringify({ error: { code: 503, message: 'Service Unavailable (simulated outage)' } }));
      return;
    }
    const out = httpRequest({ host: upstream.hostname, port: upstream.port, method: req.method, path: req.url, headers: { ...req.headers, host: upstream.host } }, (up) => {
      const headers = { ...up.headers };
      if (typeof headers.location === 'string') headers.location = headers.location.replace(upstream.origin, state.url);
      res.writeHead(up.statusCode ?? 502, headers);
      up.pipe(res);
    });
    out.on('error', () => res.destroy());
    req.pipe(out);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  state.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return state;
}

type Report = {
  total: number;
  succeeded: number;
  failed: number;
  storedBytes: number;
  volumes: { namespace: string; pvc: string; outcome: string; storedBytes: number; size: number; durationSeconds: number; object?: string; retentionDeleted: number; error?: string }[];
  text: string;
};

describe('nightly backup', { concurrency: false }, () => {
  let h: BackupHarness;
  before(async () => {
    h = await backupHarness();
  });
  after(async () => {
    await h?.close();
  });

  it('backs up every mayastor PVC of the namespaces, verifies, applies retention, cleans up', { timeout: 240_000 }, async () => {
    const apps = await h.namespace('bk-apps');
    const club = await h.namespace('bk-club');
    await h.volume(apps, 'db-data', { 'pg/base/1': randomContent(300_000), 'pg/PG_VERSION': '16\n', 'pg/empty': '' });
    await h.volume(apps, 'uploads', { 'a.txt': 'bonjour\n', 'sub/dir/photo-été.jpg': randomContent(120_000) });
    await h.volume(club, 'site', { 'index.html': '<h1>Cédille</h1>\n' });
    await h.volume(club, 'cache', { 'tmp.bin': randomContent(1000) }, { 'cedille.etsmtl.ca/backup': 'skip' });
    await h.volume(club, 'other-class', { 'x': 'y' }, {}, 'standard');
    // Thirty nights of older backups of club/site (manifest + data), all verified: retention must keep
    // exactly what the policy says and delete the rest, data and manifest.
    const sitePrefix = volumePrefix('mayastor', club, 'site');
    const old: string[] = [];
    for (let i = 1; i <= 30; i++) {
      const t = new Date(Date.now() - i * 86_400_000).toISOString();
      const p = `${sitePrefix}${t.replace(/[-:]/g, '').replace(/\.\d+Z$/, 'Z')}-seeded/`;
      const data = Buffer.from(`old backup ${i}`);
      await putObject(h.bucket, `${p}data.tar.gz.aes`, data);
      await putObject(h.bucket, `${p}verified.json`, '{}');
      const { createHash } = await import('node:crypto');
      await putObject(h.bucket, `${p}manifest.json`, JSON.stringify({ namespace: club, pvc: 'site', snapshotTime: t, createdAt: t, object: `${p}data.tar.gz.aes`, storedBytes: data.length, sha256: createHash('sha256').update(data).digest('hex'), sizeBytes: 10, fileCount: 1 }));
      old.push(p);
    }
    const retention = { daily: 3, weekly: 2, monthly: 2 };

    const t0 = Date.now();
    const handle = await h.start('nightlyBackup', h.nightlyInput([apps, club], { retention }));
    const report = (await handle.result().catch(async (err) => {
      throw new Error((await runFailure(handle)).text, { cause: err });
    })) as Report;
    const ms = Date.now() - t0;
    console.log(`# nightly over 3 volumes: ${ms} ms; ${report.storedBytes} bytes stored`);
    assert.equal(report.total, 3, report.text);
    assert.equal(report.succeeded, 3, report.text);
    assert.deepEqual(report.volumes.map((v) => `${v.namespace}/${v.pvc}`), [`${apps}/db-data`, `${apps}/uploads`, `${club}/site`]);
    assert.match(report.text, new RegExp(`skipped ${club}/cache: labelled cedille.etsmtl.ca/backup=skip`));
    for (const v of report.volumes) {
      assert.ok(v.storedBytes > 0 && v.durationSeconds > 0, JSON.stringify(v));
      const prefix = v.object!.slice(0, v.object!.lastIndexOf('/') + 1);
      assert.ok(prefix.startsWith(volumePrefix('mayastor', v.namespace, v.pvc)), prefix);
      assert.ok(await objectExists(h.bucket, `${prefix}manifest.json`));
      assert.ok(await objectExists(h.bucket, `${prefix}verified.json`));
      const manifest = JSON.parse((await getObject(h.bucket, `${prefix}manifest.json`)).toString()) as { namespace: string; pvc: string; fileCount: number; snapshotName: string };
      assert.equal(manifest.namespace, v.namespace);
      assert.equal(manifest.pvc, v.pvc);
      assert.match(manifest.snapshotName, /^backup-/);
    }
    assert.equal(report.volumes.find((v) => v.pvc === 'db-data')!.size, 300_003);

    // Retention: what remains is exactly what the policy keeps of the 31 backups of club/site.
    const { backups } = await listBackups(h.bucket, sitePrefix);
    const times = [...old.map((p, i) => ({ id: p, snapshotTime: new Date(Date.now() - (i + 1) * 86_400_000).toISOString(), verified: true }))];
    const kept = backups.map((b) => b.prefix).sort();
    assert.equal(report.volumes.find((v) => v.pvc === 'site')!.retentionDeleted, 31 - kept.length);
    const expectedKept = retentionPlan([...times, { id: backups.at(-1)!.prefix, snapshotTime: backups.at(-1)!.manifest.snapshotTime, verified: true }], retention).filter((d) => d.keep).map((d) => d.id);
    assert.ok(kept.length <= 3 + 2 + 2 + 1 && kept.length >= 3, kept.join(' '));
    assert.equal(kept.length, expectedKept.length);
    const [files] = await storage().bucket(h.bucket).getFiles({ prefix: sitePrefix });
    for (const p of old.filter((x) => !kept.includes(x))) assert.ok(!files.some((f) => f.name.startsWith(p)), `${p} fully deleted`);
    for (const p of kept) assert.ok(files.some((f) => f.name === `${p}manifest.json`) && files.some((f) => f.name === `${p}data.tar.gz.aes`), `${p} intact`);

    await noLeftovers(h, [apps, club]);
    assert.equal(h.sim.agentRuns.filter((r) => [apps, club].includes(r.namespace)).every((r) => r.exitCode === 0), true);
  });

  it('preflight failures abort before anything is created, with every problem in the alert', { timeout: 120_000 }, async () => {
    const ns = await h.namespace('bk-pre');
    await h.volume(ns, 'data', { 'f': 'x' });
    const cases: [string, Record<string, unknown>, RegExp][] = [
      ['missing bucket', { bucket: 'no-such-bucket-cedille' }, /bucket gs:\/\/no-such-bucket-cedille does not exist/],
      ['no snapshot class for the driver', { driver: 'io.example.none', snapshotClass: '' }, /no VolumeSnapshotClass for the CSI driver io\.example\.none/],
      ['unknown transit key', { vault: { ...h.vault, transitKey: 'no-such-key' } }, /transit key transit\/no-such-key does not exist/],
    ];
    for (const [what, change, message] of cases) {
      const handle = await h.start('nightlyBackup', h.nightlyInput([ns], change));
      const failure = await runFailure(handle);
      assert.ok(failure.types.includes('PreflightFailed'), `${what}: ${failure.text}`);
      assert.match(failure.text, message, what);
      const graph = await h.env.graph(handle);
      assert.equal(graph.nodes.find((n) => n.id === 'alertPreflight')?.status, 'completed', what);
      assert.ok(!graph.nodes.some((n) => n.id === 'discover' && n.status === 'completed'), `${what}: nothing discovered, nothing created`);
    }
    const snapshots = await h.client.list(SNAPSHOT_API_VERSION, 'VolumeSnapshot', { namespace: ns });
    assert.equal(snapshots.items.length, 0, 'nothing was created');
  });

  it('a snapshot that never becomes ready fails that volume only; the run fails after the report and the alert', { timeout: 180_000 }, async () => {
    const ns = await h.namespace('bk-stuck');
    await h.volume(ns, 'stuck', { 'a': 'a' });
    await h.volume(ns, 'fine', { 'b': 'b' });
    h.sim.neverReady.add(`${ns}/stuck`);
    const handle = await h.start('nightlyBackup', h.nightlyInput([ns], { snapshotReadyTimeoutSeconds: 5 }));
    const failure = await runFailure(handle);
    assert.ok(failure.types.includes('BackupsFailed'), failure.text);
    assert.match(failure.text, /1 of 2 volumes were not backed up/);
    assert.match(failure.text, new RegExp(`ok      ${ns}/fine: `));
    assert.match(failure.text, new RegExp(`FAILED  ${ns}/stuck: .*readyToUse`));
    const graph = await h.env.graph(handle);
    assert.equal(graph.nodes.find((n) => n.id === 'alertFailures')?.status, 'completed');
    await noLeftovers(h, [ns]);
  });

  it('an upload that dies halfway is retried with a new Job and the backup completes', { timeout: 180_000 }, async () => {
    const ns = await h.namespace('bk-retry');
    await h.volume(ns, 'big', { 'blob.bin': randomContent(3 * 1024 * 1024), 'small.txt': 'ok\n' });
    h.sim.failUploadOnce.add(`${ns}/big`);
    const handle = await h.start('nightlyBackup', h.nightlyInput([ns]));
    const report = (await handle.result().catch(async (err) => {
      throw new Error((await runFailure(handle)).text, { cause: err });
    })) as Report;
    assert.equal(report.succeeded, 1, report.text);
    const runs = h.sim.agentRuns.filter((r) => r.namespace === ns && r.mode === 'backup');
    assert.equal(runs.length, 2, JSON.stringify(runs));
    assert.equal(runs[0]!.cut, true);
    assert.notEqual(runs[0]!.exitCode, 0);
    assert.equal(runs[1]!.exitCode, 0);
    await noLeftovers(h, [ns]);
  });

  it('GCS down for 10 s during the uploads: the agent and the activities retry, the run finishes', { timeout: 180_000 }, async () => {
    const ns = await h.namespace('bk-outage');
    await h.volume(ns, 'one', { 'blob': randomContent(500_000) });
    await h.volume(ns, 'two', { 'blob': randomContent(500_000) });
    const gcs = await flakyGcs();
    // The worker's GCS endpoint, which its activities and the agent Jobs it starts both use.
    const workerEndpoint = process.env.CEDILLE_GCS_ENDPOINT;
    process.env.CEDILLE_GCS_ENDPOINT = gcs.url;
    try {
      const handle = await h.start('nightlyBackup', h.nightlyInput([ns]));
      await eventually('an upload Job', async () => ((await h.client.list('batch/v1', 'Job', { namespace: ns, labelSelector: LABEL_BACKUP_RUN })).items.length ? true : undefined), 60_000);
      gcs.down = true;
      await new Promise((r) => setTimeout(r, 10_000));
      gcs.down = false;
      const report = (await handle.result().catch(async (err) => {
        throw new Error((await runFailure(handle)).text, { cause: err });
      })) as Report;
      assert.equal(report.succeeded, 2, report.text);
      assert.ok(gcs.refused > 0, 'the outage was felt');
      console.log(`# GCS outage: ${gcs.refused} requests refused, run completed`);
      await noLeftovers(h, [ns]);
    } finally {
      process.env.CEDILLE_GCS_ENDPOINT = workerEndpoint;
      gcs.close();
    }
  });

  it('a run cancelled mid-backup cleans up its snapshots and temporary PVCs', { timeout: 120_000 }, async () => {
    const ns = await h.namespace('bk-cancel');
    await h.volume(ns, 'slow', { 'a': 'a' });
    await h.volume(ns, 'quick', { 'b': 'b' });
    h.sim.neverReady.add(`${ns}/slow`);
    const handle = await h.start('nightlyBackup', h.nightlyInput([ns], { snapshotReadyTimeoutSeconds: 600 }));
    await eventually('both snapshots exist', async () => ((await h.client.list(SNAPSHOT_API_VERSION, 'VolumeSnapshot', { namespace: ns })).items.length === 2 ? true : undefined), 60_000);
    await handle.cancel();
    const err = await handle.result().then(() => undefined, (e: unknown) => e as Error);
    assert.ok(err, 'the run was cancelled');
    const { status } = await handle.describe();
    assert.equal(status.name, 'CANCELLED');
    await noLeftovers(h, [ns]);
  });
});
