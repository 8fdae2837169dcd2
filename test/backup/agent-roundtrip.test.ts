// The backup agent as a process against the real fake-gcs-server and OpenBao (transit): backup, verify,
// restore, and a byte-identical tree (content hashes, modes, owners, symlink targets, file mtimes).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { chmod, chown, link, mkdir, open, symlink, utimes, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { BackupManifest } from '../../backup-agent/manifest.ts';
import { backupArgs, freshBucket, getObject, restoreArgs, runAgent, snapshotTree, tempDir, transitKey, verifyArgs, randomContent } from './_agent-support.ts';

async function roundTrip(tag: string, fill: (dir: string) => Promise<void>, extra: string[] = []) {
  const src = tempDir(`${tag}-src`);
  const dst = tempDir(`${tag}-dst`);
  try {
    await fill(src.path);
    const [bucket, key] = await Promise.all([freshBucket(), transitKey()]);
    const prefix = `club-demo/data/${tag}`;
    const backup = await runAgent(backupArgs({ source: src.path, bucket, prefix, transitKey: key, extra }));
    assert.equal(backup.code, 0, backup.stderr);
    assert.ok(backup.allLogsJson, `stderr is one JSON object per line:\n${backup.stderr}`);
    const manifest = BackupManifest.parse(backup.result);
    const stored = await getObject(bucket, manifest.object);
    assert.deepEqual(JSON.parse((await getObject(bucket, `${prefix}/manifest.json`)).toString()), backup.result, 'manifest.json = the result line');
    assert.equal(manifest.storedBytes, stored.length);
    assert.equal(manifest.sha256, createHash('sha256').update(stored).digest('hex'), 'sha256 of the stored object, checkable without a key');
    assert.equal(stored.subarray(0, 6).toString(), 'CEDBKP');

    const verify = await runAgent(verifyArgs(bucket, `${prefix}/manifest.json`), { env: { VAULT_TOKEN: '' } });
    assert.equal(verify.code, 0, verify.stderr);
    assert.equal(verify.result?.sha256, manifest.sha256);

    const restore = await runAgent(restoreArgs(bucket, `${prefix}/manifest.json`, dst.path));
    assert.equal(restore.code, 0, restore.stderr);
    assert.equal(restore.result?.fileCount, manifest.fileCount);
    const [a, b] = await Promise.all([snapshotTree(src.path), snapshotTree(dst.path)]);
    assert.deepEqual([...b.entries()], [...a.entries()], 'restored tree differs from the source');
    return { manifest, backup, restore, tree: a };
  } finally {
    src.cleanup();
    dst.cleanup();
  }
}

test('many small files, empty directories, symlinks, permissions, owners, unicode and long names round-trip', { timeout: 180_000 }, async () => {
  const { manifest, tree } = await roundTrip('small', async (dir) => {
    for (let d = 0; d < 20; d++) {
      const sub = join(dir, `dir-${d}`);
      await mkdir(sub);
      await Promise.all(Array.from({ length: 100 }, (_, f) => writeFile(join(sub, `file-${f}.txt`), `club ${d} file ${f}\n`.repeat(f % 7))));
    }
    await mkdir(join(dir, 'empty/nested-empty'), { recursive: true });
    await writeFile(join(dir, 'empty-file'), '');
    await writeFile(join(dir, 'Élève — données ✓ 日本語.txt'), 'unicode name\n');
    const longDir = join(dir, 'a'.repeat(60), 'b'.repeat(60));
    await mkdir(longDir, { recursive: true });
    await writeFile(join(longDir, `${'c'.repeat(90)}.txt`), 'long path > 100 characters\n');
    await symlink('dir-0/file-1.txt', join(dir, 'relative-link'));
    await symlink('/etc/hostname', join(dir, 'absolute-link'));
    await symlink('does/not/exist', join(dir, 'dangling-link'));
    await symlink('dir-1', join(dir, 'dir-link'));
    await link(join(dir, 'dir-0/file-3.txt'), join(dir, 'hard-link.txt'));
    const modes: [string, number][] = [['private', 0o600], ['group-read', 0o640], ['exec', 0o755], ['world', 0o777], ['setuid', 0o4755], ['sticky-dir', 0o1777], ['dir-private', 0o700], ['group-write', 0o664]];
    for (const [name, mode] of modes) {
      if (name.includes('dir')) await mkdir(join(dir, name));
      else await writeFile(join(dir, name), name);
      await chmod(join(dir, name), mode);
    }
    await chown(join(dir, 'group-read'), 1234, 5678);
    await utimes(join(dir, 'exec'), new Date('2020-01-02T03:04:05Z'), new Date('2020-01-02T03:04:05Z'));
  });
  const files = [...tree.values()].filter((e) => e.type === 'file').length;
  assert.ok(files >= 2000, `${files} files`);
  assert.equal(manifest.fileCount, files - 1, 'fileCount counts each hard-linked file once');
  assert.equal(manifest.symlinkCount, 4);
  assert.equal(manifest.namespace, 'club-demo');
  assert.equal(manifest.pvc, 'data');
  assert.equal(manifest.snapshotName, 'data-snap-1');
  assert.equal(manifest.snapshotTime, '2026-11-21T07:00:00Z');
  assert.match(manifest.encryption.keyId, /^transit\/backup-[0-9a-f]{8}:v1$/);
  assert.match(manifest.encryption.wrappedKey, /^vault:v1:/);
  assert.equal(tree.get('group-read')?.uid, 1234);
  assert.equal(tree.get('setuid')?.mode, 0o4755);
});

test('one large file (200 MB, half random, half compressible) round-trips with flat memory', { timeout: 300_000 }, async () => {
  const MB = 1 << 20;
  const { manifest, backup, restore } = await roundTrip('large', async (dir) => {
    const fh = await open(join(dir, 'volume.img'), 'w');
    const text = Buffer.from('2026-11-21T07:00:00Z GET /api/clubs 200 12ms user=etudiant\n'.repeat(20_000).slice(0, MB));
    for (let i = 0; i < 200; i++) await fh.write(i % 2 ? text : randomContent(MB));
    await fh.close();
  });
  assert.equal(manifest.sizeBytes, 200 * MB);
  assert.ok(manifest.storedBytes < 160 * MB, `compressible half compressed: ${manifest.storedBytes} stored bytes`);
  assert.ok(manifest.storedBytes > 100 * MB, 'random half stored');
  for (const [what, run] of [['backup', backup], ['restore', restore]] as const) {
    assert.ok(run.vmHwmKb > 0 && run.vmHwmKb < 150 * 1024, `${what} peak RSS ${Math.round(run.vmHwmKb / 1024)} MB`);
  }
  process.stderr.write(`[agent] 200 MB: backup ${backup.ms} ms (VmHWM ${Math.round(backup.vmHwmKb / 1024)} MB), restore ${restore.ms} ms (VmHWM ${Math.round(restore.vmHwmKb / 1024)} MB), stored ${manifest.storedBytes} B\n`);
});

test('an empty volume round-trips', { timeout: 60_000 }, async () => {
  const { manifest } = await roundTrip('empty', async () => undefined, ['--compression-level', '6']);
  assert.equal(manifest.fileCount, 0);
  assert.equal(manifest.sizeBytes, 0);
  assert.equal(manifest.compression.level, 6);
});
