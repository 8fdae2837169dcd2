// The GCS client of the gcs.* and backup.* activities, and what they share: error classification,
// the backup manifest (as far as the workflows read it) and streaming checks.
// Endpoint: CEDILLE_GCS_ENDPOINT (an emulator such as fake-gcs-server), else Google's. Credentials: the
// worker's Google identity (activities/_gcp-credentials.ts, GOOGLE_APPLICATION_CREDENTIALS), sent only to
// that endpoint; an emulator endpoint without a credential file gets no token.
import { createHash } from 'node:crypto';
import { Storage } from '@google-cloud/storage';
import { ApplicationFailure } from '@temporalio/common';
import { z } from 'zod';
import { credentialsFailureOf, type GcpCredentials } from '../../gcp/credentials.ts';
import { credentialsFailure, workerCredentials } from '../_gcp-credentials.ts';

let cached: { key: string; storage: Storage; credentials: GcpCredentials | undefined } | undefined;

export function storage(env = process.env): Storage {
  const endpoint = env.CEDILLE_GCS_ENDPOINT ?? '';
  const key = `${endpoint}\n${env.GOOGLE_APPLICATION_CREDENTIALS ?? ''}\n${env.CEDILLE_GCS_PROJECT ?? ''}`;
  if (cached?.key !== key) {
    const projectId = env.CEDILLE_GCS_PROJECT || undefined;
    const credentials = !endpoint || env.GOOGLE_APPLICATION_CREDENTIALS ? workerCredentials(env) : undefined;
    const auth = credentials ? { authClient: credentials.auth, useAuthWithCustomEndpoint: true } : {};
    cached = { key, credentials, storage: new Storage({ ...(endpoint ? { apiEndpoint: endpoint, projectId: projectId ?? 'cedille-local' } : projectId ? { projectId } : {}), ...auth }) };
  }
  return cached.storage;
}

const NETWORK = /ECONNREFUSED|ECONNRESET|ETIMEDOUT|EPIPE|EAI_AGAIN|socket hang up|network|fetch failed/i;

/** An ApplicationFailure for a GCS error: 404/401/403/400 are final, 408/429/5xx and network errors retry. */
export function gcsFailure(err: unknown, what: string): ApplicationFailure {
  if (err instanceof ApplicationFailure) return err;
  // No token (a refused or expired exchange): the failure names the credential file, not the object.
  const credentials = cached?.credentials && credentialsFailureOf(cached.credentials, err);
  if (credentials) return credentialsFailure(credentials) as ApplicationFailure;
  const e = err as { code?: unknown; message?: string; cause?: { code?: string; message?: string } };
  const code = typeof e.code === 'number' ? e.code : Number.isFinite(Number(e.code)) ? Number(e.code) : undefined;
  const message = `${what}: ${e.message ?? String(err)}${e.cause?.message ? `: ${e.cause.message}` : ''}`;
  if (code === 404) return ApplicationFailure.create({ message, type: 'NotFound', nonRetryable: true });
  if (code === 401 || code === 403) return ApplicationFailure.create({ message, type: 'Forbidden', nonRetryable: true });
  if (code === 400 || code === 412) return ApplicationFailure.create({ message, type: 'BadRequest', nonRetryable: true });
  if (code !== undefined && code !== 408 && code !== 429 && code < 500 && code >= 400) return ApplicationFailure.create({ message, type: `HTTP${code}`, nonRetryable: true });
  const network = NETWORK.test(`${String(e.code ?? '')} ${e.message ?? ''} ${e.cause?.code ?? ''}`);
  return ApplicationFailure.create({ message, type: network ? 'GcsUnavailable' : 'GcsError', nonRetryable: false });
}

export async function gcsCall<T>(what: string, call: () => Promise<T>): Promise<T> {
  try {
    return await call();
  } catch (err) {
    throw gcsFailure(err, what);
  }
}

export function isNotFound(err: unknown): boolean {
  const code = (err as { code?: unknown }).code;
  return code === 404 || code === '404';
}

/**
 * The fields of the agent's manifest.json the workflows use (backup-agent/manifest.ts has the full
 * schema, the agent's contract); unknown fields pass through. `sha256` and `storedBytes` describe the
 * stored (encrypted) object, `sizeBytes` and `fileCount` the volume's files.
 */
export const BackupManifest = z
  .looseObject({
    apiVersion: z.string().optional(),
    namespace: z.string(),
    pvc: z.string(),
    snapshotName: z.string().optional(),
    snapshotTime: z.string().optional(),
    createdAt: z.string(),
    object: z.string().describe('object name of the encrypted archive'),
    storedBytes: z.number().int().nonnegative(),
    sizeBytes: z.number().int().nonnegative().describe('bytes of the files'),
    fileCount: z.number().int().nonnegative(),
    sha256: z.string().regex(/^[0-9a-f]{64}$/),
  })
  .transform((m) => ({ ...m, snapshotTime: m.snapshotTime ?? m.createdAt }));
export type BackupManifest = z.output<typeof BackupManifest>;

export const MANIFEST_FILE = 'manifest.json';
/** Written by backup.verify next to a manifest whose object matched its checksum. */
export const VERIFIED_FILE = 'verified.json';

/** `<root>/<namespace>/<pvc>/` — every backup of one PVC lives under it. */
export function volumePrefix(root: string, namespace: string, pvc: string): string {
  return `${[root.replace(/^\/+|\/+$/g, ''), namespace, pvc].filter(Boolean).join('/')}/`;
}

/** The prefix of a manifest object (`a/b/manifest.json` -> `a/b/`). */
export function prefixOf(manifestObject: string): string {
  return manifestObject.slice(0, manifestObject.lastIndexOf('/') + 1);
}

export async function readManifest(bucket: string, object: string): Promise<BackupManifest> {
  const [data] = await gcsCall(`read gs://${bucket}/${object}`, () => storage().bucket(bucket).file(object).download());
  let json: unknown;
  try {
    json = JSON.parse(data.toString('utf8'));
  } catch (err) {
    throw ApplicationFailure.create({ message: `gs://${bucket}/${object} is not JSON: ${(err as Error).message}`, type: 'InvalidManifest', nonRetryable: true });
  }
  const parsed = BackupManifest.safeParse(json);
  if (!parsed.success) {
    throw ApplicationFailure.create({ message: `gs://${bucket}/${object} is not a backup manifest: ${z.prettifyError(parsed.error)}`, type: 'InvalidManifest', nonRetryable: true });
  }
  return parsed.data;
}

/** sha256 and length of an object, streamed (never held in memory); `progress` is called per chunk. */
export async function hashObject(bucket: string, object: string, signal: AbortSignal, progress?: (bytes: number) => void): Promise<{ sha256: string; bytes: number }> {
  return gcsCall(`read gs://${bucket}/${object}`, async () => {
    const hash = createHash('sha256');
    let bytes = 0;
    const stream = storage().bucket(bucket).file(object).createReadStream({ validation: false });
    // The library's download pipeline adds more than 10 listeners by design (not a leak).
    stream.setMaxListeners(64);
    const abort = () => stream.destroy(new Error('cancelled'));
    signal.addEventListener('abort', abort, { once: true });
    try {
      for await (const chunk of stream) {
        hash.update(chunk as Buffer);
        bytes += (chunk as Buffer).length;
        progress?.(bytes);
      }
    } finally {
      signal.removeEventListener('abort', abort);
    }
    return { sha256: hash.digest('hex'), bytes };
  });
}

export interface StoredBackup {
  /** `<root>/<ns>/<pvc>/<id>/` */
  prefix: string;
  manifestObject: string;
  manifest: BackupManifest;
  verified: boolean;
}

/** Every complete backup (a readable manifest) under a volume prefix, oldest first by snapshotTime. */
export async function listBackups(bucket: string, volume: string, signal?: AbortSignal): Promise<{ backups: StoredBackup[]; incomplete: string[] }> {
  const [files] = await gcsCall(`list gs://${bucket}/${volume}`, () => storage().bucket(bucket).getFiles({ prefix: volume, autoPaginate: true }));
  const byPrefix = new Map<string, Set<string>>();
  for (const f of files) {
    const rest = f.name.slice(volume.length);
    const slash = rest.indexOf('/');
    if (slash <= 0) continue;
    const p = volume + rest.slice(0, slash + 1);
    const set = byPrefix.get(p) ?? new Set<string>();
    set.add(rest.slice(slash + 1));
    byPrefix.set(p, set);
  }
  const backups: StoredBackup[] = [];
  const incomplete: string[] = [];
  for (const [p, names] of byPrefix) {
    if (signal?.aborted) throw new Error('cancelled');
    if (!names.has(MANIFEST_FILE)) {
      incomplete.push(p);
      continue;
    }
    try {
      const manifest = await readManifest(bucket, p + MANIFEST_FILE);
      backups.push({ prefix: p, manifestObject: p + MANIFEST_FILE, manifest, verified: names.has(VERIFIED_FILE) });
    } catch (err) {
      if (err instanceof ApplicationFailure && err.type === 'InvalidManifest') incomplete.push(p);
      else throw err;
    }
  }
  backups.sort((a, b) => Date.parse(a.manifest.snapshotTime) - Date.parse(b.manifest.snapshotTime) || a.prefix.localeCompare(b.prefix));
  return { backups, incomplete: incomplete.sort() };
}

/** Deletes every object under a prefix, the manifest first (a half-deleted backup is never taken for a complete one). */
export async function deletePrefix(bucket: string, prefix: string): Promise<string[]> {
  if (!prefix.endsWith('/') || prefix.length < 2) throw ApplicationFailure.create({ message: `refusing to delete prefix "${prefix}": it must name a folder`, type: 'BadRequest', nonRetryable: true });
  const b = storage().bucket(bucket);
  const [files] = await gcsCall(`list gs://${bucket}/${prefix}`, () => b.getFiles({ prefix, autoPaginate: true }));
  const ordered = [...files].sort((x, y) => Number(y.name.endsWith(`/${MANIFEST_FILE}`)) - Number(x.name.endsWith(`/${MANIFEST_FILE}`)));
  const deleted: string[] = [];
  for (const f of ordered) {
    await gcsCall(`delete gs://${bucket}/${f.name}`, async () => {
      try {
        await f.delete();
      } catch (err) {
        if (!isNotFound(err)) throw err;
      }
    });
    deleted.push(f.name);
  }
  return deleted;
}
