// A claim-check store from its URL (CEDILLE_CLAIM_CHECK_URL): gs://bucket[/prefix] or file:///dir
// (a plain absolute path is taken as a directory too).
import { isAbsolute, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { GcsStore } from './gcs.ts';
import { LocalDirStore } from './local-dir.ts';
import type { BlobStore } from './store.ts';

export type { BlobStore } from './store.ts';
export { GcsStore } from './gcs.ts';
export { LocalDirStore } from './local-dir.ts';

const BUCKET = /^[a-z0-9][a-z0-9._-]{1,220}[a-z0-9]$/;

export function storeFromUrl(url: string, env: NodeJS.ProcessEnv = process.env, where = 'CEDILLE_CLAIM_CHECK_URL'): BlobStore {
  const spec = url.trim();
  if (spec.startsWith('gs://')) {
    const [bucket = '', ...rest] = spec.slice('gs://'.length).split('/');
    if (!BUCKET.test(bucket)) throw new Error(`${where}=${spec}: "${bucket}" is not a GCS bucket name`);
    return new GcsStore(bucket, rest.join('/'), async () => (await import('../../activities/gcs/_storage.ts')).storage(env));
  }
  if (spec.startsWith('file:')) return new LocalDirStore(fileURLToPath(spec));
  if (isAbsolute(spec)) return new LocalDirStore(resolve(spec));
  throw new Error(`${where}=${spec}: expected gs://<bucket>[/<prefix>] or file:///<directory>`);
}
