// Where init's secrets live: one Kubernetes Secret (`keysSecret`, next to Vault) holding only
// ciphertexts. The root token and the unseal/recovery shares are each encrypted with the Cloud KMS
// key (additional authenticated data = namespace/secret/item, so a ciphertext cannot be moved to
// another item), and, when admins gave PGP keys, each share is also encrypted to one admin
// (`share-N.asc`, like Vault's pgp_keys). Annotations say what is there and its state:
//   started  init was about to be called (a Vault found initialised without `stored` was initialised
//            by a run that died before storing: its keys are lost, which must be said, not hidden)
//   stored   the ciphertexts are in place
// and `root-revoked` once the bootstrap revoked the root token (its ciphertext is then dropped).
// `address` binds the material to the Vault it came from: the address is a run input, so without it
// a run naming Vault's namespace and another address (an http:// server of its own) would receive
// the decrypted unseal shares and root token. Nothing stored is decrypted for, or rewritten by, a run
// whose address differs (VaultAddressMismatch).
import { createHash } from 'node:crypto';
import { ApplicationFailure } from '@temporalio/common';
import { kube } from '../kubernetes/_client.ts';
import { classified, httpStatusOf } from '../kubernetes/_errors.ts';
import { kmsDecrypt, kmsEncrypt, cryptoKeyName } from '../gcpkms/_client.ts';
import type { VaultRef } from './_client.ts';

const A = 'vault.cedille.etsmtl.ca/';

export interface StoredKeys {
  state: 'absent' | 'started' | 'stored';
  /** The Vault address the material belongs to ('' when absent, or written before addresses were recorded). */
  address: string;
  rootRevoked: boolean;
  sealType: string;
  shares: number;
  threshold: number;
  shareFingerprints: string[];
  rootTokenFingerprint: string;
  pgpFingerprints: string[];
  /** Item name -> stored bytes (ciphertexts, armored PGP messages). */
  data: Record<string, Buffer>;
}

/** A short, non-reversible fingerprint of a secret value (for outputs and logs). */
export function fingerprint(value: string | Buffer): string {
  return createHash('sha256').update(value).digest('hex').slice(0, 16);
}

const aad = (ref: VaultRef, item: string) => `${ref.namespace}/${ref.keysSecret}/${item}`;

export async function readKeys(ref: VaultRef, signal: AbortSignal): Promise<StoredKeys> {
  const s = await classified(`get Secret ${ref.namespace}/${ref.keysSecret}`, signal, async () => {
    try {
      return await kube().get({ apiVersion: 'v1', kind: 'Secret', namespace: ref.namespace, name: ref.keysSecret }, signal);
    } catch (err) {
      if (httpStatusOf(err) === 404) return undefined;
      throw err;
    }
  });
  const an = s?.metadata.annotations ?? {};
  const list = (k: string) => (an[A + k] ? an[A + k]!.split(',') : []);
  return {
    state: !s ? 'absent' : an[A + 'state'] === 'stored' ? 'stored' : 'started',
    address: an[A + 'address'] ?? '',
    rootRevoked: an[A + 'root-revoked'] === 'true',
    sealType: an[A + 'seal-type'] ?? '',
    shares: Number(an[A + 'shares'] ?? 0),
    threshold: Number(an[A + 'threshold'] ?? 0),
    shareFingerprints: list('share-fingerprints'),
    rootTokenFingerprint: an[A + 'root-token-fingerprint'] ?? '',
    pgpFingerprints: list('pgp-fingerprints'),
    data: Object.fromEntries(Object.entries((s?.data ?? {}) as Record<string, string>).map(([k, v]) => [k, Buffer.from(v, 'base64')])),
  };
}

/** Writes the whole Secret (server-side apply: items no longer listed are removed). */
export async function writeKeys(ref: VaultRef, keys: Omit<StoredKeys, 'state' | 'address'> & { state: 'started' | 'stored' }, signal: AbortSignal): Promise<void> {
  const annotations: Record<string, string> = {
    [A + 'state']: keys.state,
    [A + 'address']: ref.address,
    [A + 'kms-key']: cryptoKeyName(ref.kms),
    ...(keys.sealType ? { [A + 'seal-type']: keys.sealType } : {}),
    ...(keys.shares ? { [A + 'shares']: String(keys.shares), [A + 'threshold']: String(keys.threshold) } : {}),
    ...(keys.shareFingerprints.length ? { [A + 'share-fingerprints']: keys.shareFingerprints.join(',') } : {}),
    ...(keys.rootTokenFingerprint ? { [A + 'root-token-fingerprint']: keys.rootTokenFingerprint } : {}),
    ...(keys.pgpFingerprints.length ? { [A + 'pgp-fingerprints']: keys.pgpFingerprints.join(',') } : {}),
    ...(keys.rootRevoked ? { [A + 'root-revoked']: 'true' } : {}),
  };
  const body = {
    apiVersion: 'v1',
    kind: 'Secret',
    type: 'Opaque',
    metadata: { name: ref.keysSecret, namespace: ref.namespace, labels: { 'app.kubernetes.io/managed-by': 'cedille-workflows', 'cedille.etsmtl.ca/part-of': 'vault-bootstrap' }, annotations },
    data: Object.fromEntries(Object.entries(keys.data).map(([k, v]) => [k, v.toString('base64')])),
  };
  await classified(`apply Secret ${ref.namespace}/${ref.keysSecret}`, signal, () => kube().apply(body, { force: true, signal }));
}

/** Refuses stored material that belongs to another Vault address than the run's (or to none recorded). */
export function assertSameVault(ref: VaultRef, keys: StoredKeys): void {
  if (keys.state === 'absent' || keys.address === ref.address) return;
  const where = `${ref.namespace}/${ref.keysSecret}`;
  throw ApplicationFailure.create({
    message: keys.address
      ? `vault: the init material in ${where} belongs to ${keys.address}; refusing to use it with ${ref.address}`
      : `vault: ${where} records no Vault address; refusing to use it with ${ref.address} (if that is its Vault: kubectl annotate secret -n ${ref.namespace} ${ref.keysSecret} ${A}address=${ref.address})`,
    type: 'VaultAddressMismatch',
    nonRetryable: true,
  });
}

/** The stored material, refused when it belongs to another address (see assertSameVault). */
export async function readBoundKeys(ref: VaultRef, signal: AbortSignal): Promise<StoredKeys> {
  const keys = await readKeys(ref, signal);
  assertSameVault(ref, keys);
  return keys;
}

export function encryptItem(ref: VaultRef, item: string, plaintext: string, signal: AbortSignal): Promise<Buffer> {
  return kmsEncrypt(ref.kms, Buffer.from(plaintext, 'utf8'), aad(ref, item), signal);
}

export async function decryptItem(ref: VaultRef, keys: StoredKeys, item: string, signal: AbortSignal): Promise<string> {
  assertSameVault(ref, keys);
  const ciphertext = keys.data[item];
  if (!ciphertext) throw ApplicationFailure.create({ message: `vault: Secret ${ref.namespace}/${ref.keysSecret} has no ${item}`, type: 'VaultKeysMissing', nonRetryable: true });
  return (await kmsDecrypt(ref.kms, ciphertext, aad(ref, item), signal)).toString('utf8');
}

/** The root token, decrypted here; fails clearly when it was revoked or never stored. */
export async function rootToken(ref: VaultRef, signal: AbortSignal): Promise<string> {
  const keys = await readBoundKeys(ref, signal);
  if (keys.rootRevoked) throw ApplicationFailure.create({ message: 'vault: the root token was revoked by the bootstrap; use a token of your own', type: 'VaultRootRevoked', nonRetryable: true });
  if (keys.state !== 'stored') throw ApplicationFailure.create({ message: `vault: no stored init material in ${ref.namespace}/${ref.keysSecret}`, type: 'VaultKeysMissing', nonRetryable: true });
  return decryptItem(ref, keys, 'root-token', signal);
}
