// A small client of the Cloud KMS REST API v1 (https://cloud.google.com/kms/docs/reference/rest):
// key rings and crypto keys (get, create), :testIamPermissions, :encrypt and :decrypt. The base URL
// is part of the key reference (tests point it at a local server speaking the same wire format).
//
// Credentials (worker environment), never inputs or outputs:
//   CEDILLE_GCP_TOKEN or CEDILLE_GCP_TOKEN_FILE  an OAuth2 access token (Bearer), or else
//   the GCE/GKE metadata server's token of the default service account (when running on GCP).
// A key reference may name another variable (`tokenEnv`) so the seal's identity, not the admin's,
// is the one the preflight checks.
import { readFileSync } from 'node:fs';
import { ApplicationFailure } from '@temporalio/common';
import { z } from 'zod';

export const DEFAULT_KMS_ENDPOINT = 'https://cloudkms.googleapis.com';

const id = z.string().regex(/^[a-zA-Z0-9_-]{1,63}$/, 'letters, digits, _ and - (1-63)');

export const KmsKeyRef = z.strictObject({
  endpoint: z.url().default(DEFAULT_KMS_ENDPOINT).describe('Cloud KMS base URL (tests: a local server)'),
  project: z.string().regex(/^[a-z][a-z0-9-]{4,28}[a-z0-9]$/, 'a GCP project id'),
  location: z.string().regex(/^[a-z0-9-]+$/).describe('e.g. northamerica-northeast1 or global'),
  keyRing: id,
  cryptoKey: id,
  tokenEnv: z.string().regex(/^[A-Z_][A-Z0-9_]*$/).optional().describe('Worker environment variable holding the access token (default CEDILLE_GCP_TOKEN)'),
});
export type KmsKeyRef = z.output<typeof KmsKeyRef>;

export const keyRingName = (k: KmsKeyRef) => `projects/${k.project}/locations/${k.location}/keyRings/${k.keyRing}`;
export const cryptoKeyName = (k: KmsKeyRef) => `${keyRingName(k)}/cryptoKeys/${k.cryptoKey}`;

/** What Vault's gcpckms seal needs (roles/cloudkms.cryptoKeyEncrypterDecrypter + roles/cloudkms.viewer). */
export const SEAL_PERMISSIONS = [
  'cloudkms.cryptoKeyVersions.useToEncrypt',
  'cloudkms.cryptoKeyVersions.useToDecrypt',
  'cloudkms.cryptoKeys.get',
] as const;

async function accessToken(k: KmsKeyRef, signal?: AbortSignal): Promise<string> {
  const env = process.env;
  const named = k.tokenEnv ? env[k.tokenEnv] : undefined;
  if (named) return named.trim();
  if (k.tokenEnv) throw ApplicationFailure.create({ message: `gcpkms: the worker has no ${k.tokenEnv} (access token)`, type: 'KmsCredentialsMissing', nonRetryable: true });
  if (env.CEDILLE_GCP_TOKEN) return env.CEDILLE_GCP_TOKEN.trim();
  if (env.CEDILLE_GCP_TOKEN_FILE) return readFileSync(env.CEDILLE_GCP_TOKEN_FILE, 'utf8').trim();
  try {
    const res = await fetch('http://metadata.google.internal/computeMetadata/v1/instance/service-accounts/default/token', {
      headers: { 'Metadata-Flavor': 'Google' },
      signal: AbortSignal.any([AbortSignal.timeout(3000), ...(signal ? [signal] : [])]),
    });
    if (res.ok) return ((await res.json()) as { access_token: string }).access_token;
  } catch {
    /* not on GCP */
  }
  throw ApplicationFailure.create({ message: 'gcpkms: no credentials: set CEDILLE_GCP_TOKEN or CEDILLE_GCP_TOKEN_FILE on the worker', type: 'KmsCredentialsMissing', nonRetryable: true });
}

export interface KmsResponse<T> {
  status: number;
  body: T;
}

/** One REST call; 404 is returned (callers decide), other errors become classified failures. */
export async function kmsCall<T>(k: KmsKeyRef, method: 'GET' | 'POST', path: string, body?: unknown, signal?: AbortSignal): Promise<KmsResponse<T> | { status: 404; body: undefined }> {
  const url = `${k.endpoint.replace(/\/+$/, '')}/v1/${path}`;
  const what = `${method} ${path.replace(/\?.*$/, '')}`;
  let res: Response;
  try {
    res = await fetch(url, {
      method,
      headers: { authorization: `Bearer ${await accessToken(k, signal)}`, ...(body !== undefined ? { 'content-type': 'application/json' } : {}) },
      ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
      ...(signal ? { signal } : {}),
    });
  } catch (err) {
    if (err instanceof ApplicationFailure || signal?.aborted) throw err;
    throw ApplicationFailure.create({ message: `gcpkms: ${what}: ${(err as Error).message}`, type: 'KmsUnavailable', nonRetryable: false });
  }
  const text = await res.text();
  if (res.status === 404) return { status: 404, body: undefined };
  if (res.ok) return { status: res.status, body: (text ? JSON.parse(text) : {}) as T };
  let message = text.slice(0, 300);
  let reason = `HTTP${res.status}`;
  try {
    const e = (JSON.parse(text) as { error?: { message?: string; status?: string } }).error;
    message = e?.message ?? message;
    reason = e?.status ?? reason;
  } catch {
    /* not JSON */
  }
  const retryable = res.status === 429 || res.status >= 500;
  const type = res.status === 403 ? 'KmsPermissionDenied' : res.status === 409 ? 'KmsConflict' : retryable ? 'KmsUnavailable' : 'KmsError';
  throw ApplicationFailure.create({ message: `gcpkms: ${what}: ${reason}: ${message}`, type, nonRetryable: !retryable && res.status !== 409, details: [{ status: res.status, reason }] });
}

/** Permissions of `permissions` the caller holds on `resource` (a key ring or crypto key name). */
export async function testIamPermissions(k: KmsKeyRef, resource: string, permissions: readonly string[], signal?: AbortSignal): Promise<string[] | undefined> {
  const res = await kmsCall<{ permissions?: string[] }>(k, 'POST', `${resource}:testIamPermissions`, { permissions }, signal);
  return res.status === 404 ? undefined : (res.body?.permissions ?? []);
}

/** Encrypts with the crypto key's primary version; `aad` binds the ciphertext to where it is stored. */
export async function kmsEncrypt(k: KmsKeyRef, plaintext: Buffer, aad: string, signal?: AbortSignal): Promise<Buffer> {
  const res = await kmsCall<{ ciphertext: string }>(k, 'POST', `${cryptoKeyName(k)}:encrypt`, {
    plaintext: plaintext.toString('base64'),
    additionalAuthenticatedData: Buffer.from(aad).toString('base64'),
  }, signal);
  if (res.status === 404) throw ApplicationFailure.create({ message: `gcpkms: ${cryptoKeyName(k)} not found`, type: 'KmsKeyNotFound', nonRetryable: true });
  return Buffer.from(res.body?.ciphertext ?? '', 'base64');
}

export async function kmsDecrypt(k: KmsKeyRef, ciphertext: Buffer, aad: string, signal?: AbortSignal): Promise<Buffer> {
  const res = await kmsCall<{ plaintext: string }>(k, 'POST', `${cryptoKeyName(k)}:decrypt`, {
    ciphertext: ciphertext.toString('base64'),
    additionalAuthenticatedData: Buffer.from(aad).toString('base64'),
  }, signal);
  if (res.status === 404) throw ApplicationFailure.create({ message: `gcpkms: ${cryptoKeyName(k)} not found`, type: 'KmsKeyNotFound', nonRetryable: true });
  return Buffer.from(res.body?.plaintext ?? '', 'base64');
}
