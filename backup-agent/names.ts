// Object names and format identifiers of a backup, without zod: the backup process does not load the
// schema library (about 14 MB of its memory budget); manifest.ts re-exports these.
export const MANIFEST_API_VERSION = 'backup.cedille.etsmtl.ca/v1';
export const DATA_OBJECT = 'data.tar.gz.aes';
export const MANIFEST_OBJECT = 'manifest.json';
/** `encryption.algorithm` of the framing in encryption.ts (docs/BACKUP-AGENT.md). */
export const ENCRYPTION_ALGORITHM = 'AES-256-GCM-chunked-v1';

/** `<prefix>/data.tar.gz.aes` and `<prefix>/manifest.json` for an object prefix (slashes trimmed). */
export function objectNames(prefix: string): { data: string; manifest: string } {
  const p = prefix.replace(/^\/+|\/+$/g, '');
  return { data: p ? `${p}/${DATA_OBJECT}` : DATA_OBJECT, manifest: p ? `${p}/${MANIFEST_OBJECT}` : MANIFEST_OBJECT };
}
