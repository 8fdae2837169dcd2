// Before a nightly backup touches anything: the bucket exists and accepts a write (a probe object,
// deleted at once), a VolumeSnapshotClass of the CSI driver exists, and the transit key wrapping the
// data keys exists and the worker's Vault identity (at the worker's VAULT_ADDR) can read it; and the
// worker knows where the agent's Jobs send their credentials (./_agent-config.ts). Problems are
// returned, not thrown, so the workflow can alert with all of them and stop.
import { readFileSync } from 'node:fs';
import { z } from 'zod';
import { defineActivity } from '../define.ts';
import { kube } from '../kubernetes/_client.ts';
import { kubeFailure } from '../kubernetes/_errors.ts';
import { SNAPSHOT_API_VERSION } from '../kubernetes/builders/backup.ts';
import { gcsFailure, storage } from '../gcs/_storage.ts';
import { agentConfig, workerVaultAddress } from './_agent-config.ts';

/** The worker's Vault token: VAULT_TOKEN, else the file named by VAULT_TOKEN_FILE. */
export function workerVaultToken(env = process.env): string | undefined {
  if (env.VAULT_TOKEN) return env.VAULT_TOKEN;
  if (env.VAULT_TOKEN_FILE) {
    try {
      return readFileSync(env.VAULT_TOKEN_FILE, 'utf8').trim();
    } catch {
      return undefined;
    }
  }
  return undefined;
}

async function checkBucket(bucket: string, probe: string): Promise<string[]> {
  const b = storage().bucket(bucket);
  try {
    const [exists] = await b.exists();
    if (!exists) return [`bucket gs://${bucket} does not exist`];
  } catch (err) {
    return [`bucket gs://${bucket} cannot be read: ${gcsFailure(err, `gs://${bucket}`).message}`];
  }
  try {
    await b.file(probe).save(`cedille preflight ${new Date().toISOString()}\n`, { resumable: false, contentType: 'text/plain' });
    await b.file(probe).delete({ ignoreNotFound: true });
    return [];
  } catch (err) {
    return [`bucket gs://${bucket} is not writable: ${gcsFailure(err, `write gs://${bucket}`).message}`];
  }
}

async function checkSnapshotClass(driver: string, wanted: string | undefined, signal: AbortSignal): Promise<{ problems: string[]; name?: string }> {
  try {
    const list = await kube().list(SNAPSHOT_API_VERSION, 'VolumeSnapshotClass', { signal });
    const classes = list.items.filter((c) => (c as { driver?: string }).driver === driver);
    const chosen = wanted ? classes.find((c) => c.metadata.name === wanted) : (classes.find((c) => c.metadata.annotations?.['snapshot.storage.kubernetes.io/is-default-class'] === 'true') ?? classes[0]);
    if (!chosen) return { problems: [wanted ? `VolumeSnapshotClass ${wanted} of driver ${driver} not found` : `no VolumeSnapshotClass for the CSI driver ${driver}`] };
    return { problems: [], name: chosen.metadata.name };
  } catch (err) {
    const f = kubeFailure(err, 'list VolumeSnapshotClasses');
    return { problems: [f.type === 'NotFound' || f.type === 'UnknownKind' ? `the snapshot CRDs (${SNAPSHOT_API_VERSION}) are not installed` : f.message] };
  }
}

async function checkTransitKey(mount: string, key: string, signal: AbortSignal): Promise<string[]> {
  // The worker's token goes only to the worker's Vault (VAULT_ADDR), never to an address of the run.
  const address = workerVaultAddress();
  if (!address) return ['the worker has no Vault address (VAULT_ADDR) to check the transit key'];
  const token = workerVaultToken();
  if (!token) return ['the worker has no Vault token (VAULT_TOKEN or VAULT_TOKEN_FILE) to check the transit key'];
  const url = `${address}/v1/${mount}/keys/${encodeURIComponent(key)}`;
  try {
    const res = await fetch(url, { headers: { 'X-Vault-Token': token }, signal: AbortSignal.any([signal, AbortSignal.timeout(15_000)]) });
    if (res.ok) return [];
    if (res.status === 404) return [`transit key ${mount}/${key} does not exist at ${address}`];
    if (res.status === 403) return [`the worker's Vault identity may not use transit key ${mount}/${key} (403)`];
    return [`Vault answered ${res.status} for transit key ${mount}/${key}`];
  } catch (err) {
    return [`Vault at ${address} is unreachable: ${(err as Error).message}`];
  }
}

export default defineActivity({
  name: 'backup.preflight',
  description:
    'Checks, without changing anything lasting: the bucket exists and is writable (probe object written and deleted), ' +
    'a VolumeSnapshotClass of the CSI driver exists, the transit key exists and the worker may read it. Returns ok and the problems.',
  input: z.strictObject({
    bucket: z.string().min(3),
    driver: z.string().default('io.openebs.csi-mayastor'),
    snapshotClass: z.string().default('').describe('a given class (default, empty: the default class of the driver, else the first)'),
    vault: z.strictObject({ transitKey: z.string().min(1), transitMount: z.string().default('transit') }),
  }),
  output: z.object({ ok: z.boolean(), problems: z.array(z.string()), snapshotClass: z.string() }),
  async handler({ bucket, driver, snapshotClass, vault }, ctx) {
    const probe = `.cedille-preflight/${ctx.idempotencyKey.replace(/[^A-Za-z0-9._-]+/g, '_')}`;
    const [bucketProblems, snap, keyProblems] = await Promise.all([
      checkBucket(bucket, probe),
      checkSnapshotClass(driver, snapshotClass || undefined, ctx.signal),
      checkTransitKey(vault.transitMount, vault.transitKey, ctx.signal),
    ]);
    const configProblems: string[] = [];
    try {
      agentConfig();
    } catch (err) {
      configProblems.push((err as Error).message);
    }
    const problems = [...configProblems, ...bucketProblems, ...snap.problems, ...keyProblems];
    if (problems.length) ctx.log.warn(`backup preflight failed: ${problems.join('; ')}`);
    return { ok: problems.length === 0, problems, snapshotClass: snap.name ?? '' };
  },
});
