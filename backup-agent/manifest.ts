// The manifest of one backup, written next to the data object once that object is complete (so a
// manifest always means a complete backup). The workflows read it back (verify, restore, retention):
// this schema is the contract between the agent and them.
import { z } from 'zod';
import { ENCRYPTION_ALGORITHM, MANIFEST_API_VERSION } from './names.ts';

export { DATA_OBJECT, ENCRYPTION_ALGORITHM, MANIFEST_API_VERSION, MANIFEST_OBJECT, objectNames } from './names.ts';

const sha256Hex = z.string().regex(/^[0-9a-f]{64}$/, 'a lowercase hex sha256');
const rfc3339 = z.iso.datetime({ offset: true });

export const BackupManifest = z.object({
  apiVersion: z.literal(MANIFEST_API_VERSION),
  kind: z.literal('BackupManifest'),
  namespace: z.string().min(1),
  pvc: z.string().min(1),
  snapshotName: z.string().min(1).optional(),
  /** When the snapshot was taken (RFC 3339), as given by the workflow. */
  snapshotTime: rfc3339.optional(),
  /** When the agent started and finished the backup. */
  createdAt: rfc3339,
  completedAt: rfc3339,
  bucket: z.string().min(1),
  /** Object name of the data (`<prefix>/data.tar.gz.aes`) and its GCS generation (restore pins it). */
  object: z.string().min(1),
  generation: z.string().regex(/^\d+$/).optional(),
  /** Bytes of the stored (compressed, encrypted) object, and its sha256: checkable without any key. */
  storedBytes: z.number().int().nonnegative(),
  sha256: sha256Hex,
  /** Bytes of file content in the volume (regular files), the tar stream's length, and entry counts. */
  sizeBytes: z.number().int().nonnegative(),
  tarBytes: z.number().int().nonnegative(),
  fileCount: z.number().int().nonnegative(),
  directoryCount: z.number().int().nonnegative(),
  symlinkCount: z.number().int().nonnegative(),
  compression: z.object({
    /** Concatenated gzip members of `blockBytes` of tar each; incompressible blocks stored at level 0. */
    algorithm: z.literal('gzip'),
    level: z.number().int().min(0).max(9),
    blockBytes: z.number().int().positive(),
  }),
  encryption: z.object({
    algorithm: z.literal(ENCRYPTION_ALGORITHM),
    /** Plaintext bytes per GCM chunk (each stored chunk is this + a 16-byte tag; the last may be shorter). */
    chunkSize: z.number().int().positive(),
    /** The key-encryption key: Vault transit `<mount>/<key>` at `keyVersion`; `keyId` = `<mount>/<key>:v<version>`. */
    keyProvider: z.literal('vault-transit'),
    transitMount: z.string().min(1),
    transitKey: z.string().min(1),
    keyVersion: z.number().int().positive(),
    keyId: z.string().min(1),
    /** The per-backup data key wrapped by transit (`vault:v<N>:...`); the plaintext key is never stored. */
    wrappedKey: z.string().regex(/^vault:v\d+:/, 'a Vault transit ciphertext'),
  }),
  agentVersion: z.string().min(1),
  durationMs: z.number().nonnegative(),
});
export type BackupManifest = z.infer<typeof BackupManifest>;
