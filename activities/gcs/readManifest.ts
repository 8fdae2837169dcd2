// A backup's manifest.json, checked against the fields the workflows rely on.
import { z } from 'zod';
import { defineActivity } from '../define.ts';
import { readManifest } from './_storage.ts';

export default defineActivity({
  name: 'gcs.readManifest',
  description: "Reads a backup's manifest.json (InvalidManifest when it is not one).",
  input: z.strictObject({ bucket: z.string().min(3), manifest: z.string().min(1) }),
  output: z.looseObject({ namespace: z.string(), pvc: z.string(), snapshotTime: z.string(), object: z.string(), storedBytes: z.int(), sizeBytes: z.int(), fileCount: z.int(), sha256: z.string() }),
  async handler({ bucket, manifest }) {
    return readManifest(bucket, manifest);
  },
});
