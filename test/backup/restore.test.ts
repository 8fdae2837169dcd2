// Restore and the weekly restore test end to end: a nightly backup of a volume, restored into a new
// PVC byte for byte (the real agent, run by the simulated kubelet, on directories standing for the
// volumes); the weekly test restoring into a scratch namespace it deletes; a corrupted object detected
// before anything is written.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { symlink } from 'node:fs/promises';
import { join } from 'node:path';
import { runFailure } from '../activities/_support.ts';
import { eventually } from '../support/cluster.ts';
import { getObject, putObject, randomContent, snapshotTree } from './_agent-support.ts';
import { backupHarness, noLeftovers, type BackupHarness } from './_workflow-support.ts';

type Report = { succeeded: number; failed: number; volumes: { namespace: string; pvc: string; object?: string }[]; text: string };

describe('restore', { concurrency: false }, () => {
  let h: BackupHarness;
  let src: string;
  let manifest: string;
  before(async () => {
    h = await backupHarness();
    src = await h.namespace('bk-src');
    await h.volume(src, 'data', {
      'README.md': '# Données du club\n',
      'db/base/16384/1259': randomContent(700_000),
      'db/empty': '',
      'uploads/2026/11/affiche-été.png': randomContent(50_000),
      'deep/a/b/c/d/e/f.txt': 'profond\n',
    });
    await symlink('db/base', join(h.sim.volumeDir(src, 'data'), 'latest'));
    const handle = await h.start('nightlyBackup', h.nightlyInput([src]));
    const report = (await handle.result().catch(async (err) => {
      throw new Error((await runFailure(handle)).text, { cause: err });
    })) as Report;
    assert.equal(report.succeeded, 1, report.text);
    const object = report.volumes[0]!.object!;
    manifest = `${object.slice(0, object.lastIndexOf('/'))}/manifest.json`;
  });
  after(async () => {
    await h?.close();
  });

  it('restores a backup into a new PVC, byte for byte', { timeout: 180_000 }, async () => {
    const dst = await h.namespace('bk-dst');
    const t0 = Date.now();
    const handle = await h.start('backupRestore', { bucket: h.bucket, manifest, namespace: dst, pvc: 'data-restored', agent: h.agent, vault: h.vault });
    const out = (await handle.result().catch(async (err) => {
      throw new Error((await runFailure(handle)).text, { cause: err });
    })) as { fileCount: number; size: number; restored: { fileCount?: number; size?: number } };
    console.log(`# restore round trip: ${Date.now() - t0} ms`);
    assert.equal(out.restored.fileCount, out.fileCount);
    assert.equal(out.restored.size, out.size);
    const source = await snapshotTree(h.sim.volumeDir(src, 'data'));
    const restored = await snapshotTree(h.sim.volumeDir(dst, 'data-restored'));
    const strip = (m: Map<string, { uid: number; gid: number }>) => [...m].map(([p, e]) => [p, { ...e, uid: 0, gid: 0 }]);
    assert.deepEqual(strip(restored), strip(source));
    const pvc = await h.k.core.readNamespacedPersistentVolumeClaim({ namespace: dst, name: 'data-restored' });
    assert.equal(pvc.metadata?.annotations?.['cedille.etsmtl.ca/restored-from'], manifest);
    await noLeftovers(h, [dst]);

    // A restore never writes into a claim it did not create.
    await h.volume(dst, 'occupied', { 'precious.txt': 'ne pas écraser\n' });
    const refused = await runFailure(await h.start('backupRestore', { bucket: h.bucket, manifest, namespace: dst, pvc: 'occupied', agent: h.agent, vault: h.vault }));
    assert.ok(refused.types.includes('RestoreTargetExists'), refused.text);
  });

  it('the weekly restore test restores the latest backup into a scratch namespace, checks it, deletes the namespace', { timeout: 180_000 }, async () => {
    const handle = await h.start('backupRestoreTest', { bucket: h.bucket, volumes: [{ namespace: src, pvc: 'data' }], agent: h.agent, vault: h.vault });
    const out = (await handle.result().catch(async (err) => {
      throw new Error((await runFailure(handle)).text, { cause: err });
    })) as { namespace: string; restores: { manifest: string; restoredInto: string }[]; report: Report };
    assert.equal(out.report.succeeded, 1, out.report.text);
    assert.equal(out.restores[0]!.manifest, manifest);
    const [scratch, pvc] = out.restores[0]!.restoredInto.split('/') as [string, string];
    assert.equal(scratch, out.namespace);
    const source = await snapshotTree(h.sim.volumeDir(src, 'data'));
    const restored = await snapshotTree(h.sim.volumeDir(scratch, pvc));
    assert.deepEqual([...restored.keys()], [...source.keys()]);
    assert.deepEqual([...restored].map(([p, e]) => [p, e.sha256]), [...source].map(([p, e]) => [p, e.sha256]));
    const ns = await h.k.core.readNamespace({ name: scratch }).catch(() => undefined);
    assert.ok(!ns || ns.metadata?.deletionTimestamp, 'the scratch namespace is deleted');
  });

  it('a corrupted object is detected: the restore fails before creating anything, the weekly test alerts', { timeout: 180_000 }, async () => {
    const dst = await h.namespace('bk-bad');
    const data = manifest.replace(/manifest\.json$/, 'data.tar.gz.aes');
    const original = await getObject(h.bucket, data);
    const corrupted = Buffer.from(original);
    corrupted[Math.floor(corrupted.length / 2)]! ^= 0x01;
    await putObject(h.bucket, data, corrupted);
    try {
      const handle = await h.start('backupRestore', { bucket: h.bucket, manifest, namespace: dst, pvc: 'never', agent: h.agent, vault: h.vault });
      const failure = await runFailure(handle);
      assert.ok(failure.types.includes('ChecksumMismatch'), failure.text);
      const claims = await h.k.core.listNamespacedPersistentVolumeClaim({ namespace: dst });
      assert.equal(claims.items.length, 0, 'no PVC created');

      const weekly = await h.start('backupRestoreTest', { bucket: h.bucket, volumes: [{ namespace: src, pvc: 'data' }], agent: h.agent, vault: h.vault });
      const weeklyFailure = await runFailure(weekly);
      assert.ok(weeklyFailure.types.includes('RestoreTestFailed'), weeklyFailure.text);
      assert.match(weeklyFailure.text, /does not match its manifest/);
      const graph = await h.env.graph(weekly);
      assert.equal(graph.nodes.find((n) => n.id === 'alertFailures')?.status, 'completed');
      assert.equal(graph.nodes.find((n) => n.id === 'deleteScratch')?.status, 'completed');
      await eventually('scratch namespaces deleted', async () => {
        const list = await h.k.core.listNamespace({ labelSelector: 'cedille.etsmtl.ca/purpose=restore-test' });
        return list.items.every((n) => n.metadata?.deletionTimestamp) ? true : undefined;
      });
    } finally {
      await putObject(h.bucket, data, original);
    }
  });
});
