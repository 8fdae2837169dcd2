// Step 5 of one volume's backup: the manifest is readable and describes this volume, and the stored
// object has the manifest's length and sha256 (streamed from GCS, never held in memory). A verified
// backup gets a verified.json next to its manifest: retention never deletes the newest of those.
import { ApplicationFailure } from '@temporalio/common';
import { z } from 'zod';
import { defineActivity } from '../define.ts';
import { gcsCall, hashObject, prefixOf, readManifest, storage, VERIFIED_FILE } from '../gcs/_storage.ts';

export default defineActivity({
  name: 'backup.verify',
  description: 'Checks a backup in GCS against its manifest (volume, length, sha256 of the stored object) and marks it verified.',
  input: z.strictObject({
    bucket: z.string().min(3),
    manifest: z.string().min(1).describe('object name of manifest.json'),
    namespace: z.string().optional().describe('expected volume namespace'),
    pvc: z.string().optional().describe('expected PVC name'),
    mark: z.boolean().default(true).describe(`write ${VERIFIED_FILE} next to the manifest`),
  }),
  output: z.object({
    object: z.string(),
    storedBytes: z.int(),
    size: z.int(),
    fileCount: z.int(),
    sha256: z.string(),
    snapshotTime: z.string(),
    verifiedAt: z.string(),
  }),
  async handler({ bucket, manifest: manifestObject, namespace, pvc, mark }, ctx) {
    const m = await readManifest(bucket, manifestObject);
    const wrong = [namespace !== undefined && m.namespace !== namespace ? `namespace ${m.namespace} (expected ${namespace})` : '', pvc !== undefined && m.pvc !== pvc ? `pvc ${m.pvc} (expected ${pvc})` : ''].filter(Boolean);
    if (wrong.length) throw ApplicationFailure.create({ message: `gs://${bucket}/${manifestObject} describes another volume: ${wrong.join(', ')}`, type: 'ManifestMismatch', nonRetryable: true });
    const object = m.object.startsWith('gs://') ? m.object.replace(`gs://${bucket}/`, '') : m.object;
    let last = 0;
    const got = await hashObject(bucket, object, ctx.signal, (bytes) => {
      if (bytes - last < 8 << 20) return;
      last = bytes;
      ctx.heartbeat({ bytes });
    });
    const expected = m.sha256;
    if (got.bytes !== m.storedBytes || got.sha256 !== expected) {
      throw ApplicationFailure.create({
        message: `gs://${bucket}/${object} does not match its manifest: ${got.bytes} bytes sha256 ${got.sha256}, manifest says ${m.storedBytes} bytes sha256 ${expected}`,
        type: 'ChecksumMismatch',
        nonRetryable: true,
      });
    }
    const verifiedAt = new Date().toISOString();
    if (mark) {
      const marker = JSON.stringify({ verifiedAt, object, sha256: got.sha256, storedBytes: got.bytes }) + '\n';
      await gcsCall(`write gs://${bucket}/${prefixOf(manifestObject)}${VERIFIED_FILE}`, () =>
        storage().bucket(bucket).file(`${prefixOf(manifestObject)}${VERIFIED_FILE}`).save(marker, { resumable: false, contentType: 'application/json' }),
      );
    }
    return { object, storedBytes: m.storedBytes, size: m.sizeBytes, fileCount: m.fileCount, sha256: got.sha256, snapshotTime: m.snapshotTime, verifiedAt };
  },
});
