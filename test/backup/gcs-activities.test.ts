// The gcs.* activities against fake-gcs-server (the real @google-cloud/storage client with apiEndpoint).
import { before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { activityFailure, callActivity } from '../activities/_support.ts';
import checkBucket from '../../activities/gcs/checkBucket.ts';
import listBackups from '../../activities/gcs/listBackups.ts';
import readManifest from '../../activities/gcs/readManifest.ts';
import verifyObject from '../../activities/gcs/verifyObject.ts';
import deletePrefix from '../../activities/gcs/deletePrefix.ts';
import { freshBucket, gcsUrl, objectExists, putObject } from './_agent-support.ts';

const sha = (b: Buffer | string) => createHash('sha256').update(b).digest('hex');

async function seed(bucket: string, prefix: string, time: string, data: Buffer, manifest = true): Promise<void> {
  await putObject(bucket, `${prefix}data.tar.gz.aes`, data);
  if (manifest) {
    await putObject(bucket, `${prefix}manifest.json`, JSON.stringify({ namespace: 'ns', pvc: 'data', snapshotTime: time, createdAt: time, object: `${prefix}data.tar.gz.aes`, storedBytes: data.length, sha256: sha(data), sizeBytes: 42, fileCount: 3 }));
  }
}


describe('gcs activities', () => {
  let bucket: string;
  before(async () => {
    process.env.CEDILLE_GCS_ENDPOINT = gcsUrl();
    bucket = await freshBucket();
  });

  it('checkBucket: exists and writable; a missing bucket is a problem, not an error', async () => {
    assert.deepEqual(await callActivity(checkBucket, { bucket }), { exists: true, writable: true });
    assert.equal(await objectExists(bucket, '.cedille-preflight/test_activity'), false, 'the probe is deleted');
    const missing = (await callActivity(checkBucket, { bucket: 'no-such-bucket-here' })) as { exists: boolean; problem: string };
    assert.equal(missing.exists, false);
    assert.match(missing.problem, /does not exist/);
  });

  it('listBackups / readManifest / verifyObject / deletePrefix', async () => {
    const root = 'mayastor/ns/data/';
    const a = Buffer.from('first backup');
    const b = Buffer.from('second backup');
    await seed(bucket, `${root}20261120T073000Z-x/`, '2026-11-20T07:30:00Z', a);
    await seed(bucket, `${root}20261121T073000Z-y/`, '2026-11-21T07:30:00Z', b);
    await seed(bucket, `${root}20261121T080000Z-z/`, '2026-11-21T08:00:00Z', b, false);
    const list = (await callActivity(listBackups, { bucket, prefix: root })) as { backups: { prefix: string; manifest: string; verified: boolean }[]; incomplete: string[] };
    assert.deepEqual(list.backups.map((x) => x.prefix), [`${root}20261120T073000Z-x/`, `${root}20261121T073000Z-y/`]);
    assert.deepEqual(list.incomplete, [`${root}20261121T080000Z-z/`]);

    const m = (await callActivity(readManifest, { bucket, manifest: list.backups[1]!.manifest })) as { sha256: string; object: string; storedBytes: number };
    assert.equal(m.sha256, sha(b));
    assert.deepEqual(await callActivity(verifyObject, { bucket, object: m.object, sha256: m.sha256, bytes: m.storedBytes }), { sha256: sha(b), bytes: b.length });
    const mismatch = await activityFailure(verifyObject, { bucket, object: m.object, sha256: sha(a) });
    assert.equal(mismatch.type, 'ChecksumMismatch');
    assert.equal(mismatch.nonRetryable, true);

    await putObject(bucket, `${root}broken/manifest.json`, '{ not json');
    const invalid = await activityFailure(readManifest, { bucket, manifest: `${root}broken/manifest.json` });
    assert.equal(invalid.type, 'InvalidManifest');
    const absent = await activityFailure(readManifest, { bucket, manifest: `${root}nothing/manifest.json` });
    assert.equal(absent.type, 'NotFound');

    const deleted = (await callActivity(deletePrefix, { bucket, prefix: `${root}20261120T073000Z-x/` })) as { deleted: string[] };
    assert.deepEqual(deleted.deleted, [`${root}20261120T073000Z-x/manifest.json`, `${root}20261120T073000Z-x/data.tar.gz.aes`]);
    assert.deepEqual(await callActivity(deletePrefix, { bucket, prefix: `${root}20261120T073000Z-x/` }), { deleted: [] });
    assert.throws(() => deletePrefix.input.parse({ bucket, prefix: 'mayastor' }));
    assert.equal(await objectExists(bucket, `${root}20261121T073000Z-y/manifest.json`), true, 'the neighbour is untouched');
  });
});
