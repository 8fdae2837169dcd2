// A small client of the Cloud KMS REST API v1 (https://cloud.google.com/kms/docs/reference/rest):
// key rings and crypto keys (get, create), :testIamPermissions, :encrypt and :decrypt.
//
// Where the calls go and with which credential is worker configuration only, never an input: a run's
// input that could name the endpoint or the variable holding the token could send the worker's
// bearer token (or any of its environment variables) to any URL. Worker environment:
//   CEDILLE_GCP_KMS_ENDPOINT        Cloud KMS base URL, default https://cloudkms.googleapis.com (tests: a
//                                   local server speaking the same wire format)
//   GOOGLE_APPLICATION_CREDENTIALS  the worker's Google identity (activities/_gcp-credentials.ts: Workload
//                                   Identity Federation or a key file), shared with the GCS activities.
// That identity is the one the preflight checks: give the worker the seal's identity (or one with
// the same roles on the key).
import { ApplicationFailure } from '@temporalio/common';
import { workerAuthHeaders } from '../_gcp-credentials.ts';
import { z } from 'zod';

export const DEFAULT_KMS_ENDPOINT = 'https://cloudkms.googleapis.com';

/** Fields older key references carried, now worker configuration: refused by name, never ignored. */
const MOVED_TO_WORKER_CONFIG: Record<string, string> = {
  endpoint: 'the KMS endpoint is worker configuration (CEDILLE_GCP_KMS_ENDPOINT), not an input',
  tokenEnv: 'the KMS credentials are worker configuration (GOOGLE_APPLICATION_CREDENTIALS), not an input',
};

const id = z.string().regex(/^[a-zA-Z0-9_-]{1,63}$/, 'letters, digits, _ and - (1-63)');

export const KmsKeyRef = z.strictObject(
  {
    project: z.string().regex(/^[a-z][a-z0-9-]{4,28}[a-z0-9]$/, 'a GCP project id'),
    location: z.string().regex(/^[a-z0-9-]+$/).describe('e.g. northamerica-northeast1 or global'),
    keyRing: id,
    cryptoKey: id,
  },
  {
    error: (iss) =>
      iss.code === 'unrecognized_keys' ? iss.keys.map((k) => `${k}: ${MOVED_TO_WORKER_CONFIG[k] ?? 'unknown field of a KMS key reference'}`).join('; ') : undefined,
  },
);
export type KmsKeyRef = z.output<typeof KmsKeyRef>;

/** The Cloud KMS base URL of the worker (CEDILLE_GCP_KMS_ENDPOINT, default Google's). */
export function kmsEndpoint(env: NodeJS.ProcessEnv = process.env): string {
  const raw = env.CEDILLE_GCP_KMS_ENDPOINT?.trim() || DEFAULT_KMS_ENDPOINT;
  if (!URL.canParse(raw) || !/^https?:$/.test(new URL(raw).protocol)) {
    throw ApplicationFailure.create({ message: `gcpkms: CEDILLE_GCP_KMS_ENDPOINT=${raw} is not an http(s) URL`, type: 'KmsConfigInvalid', nonRetryable: true });
  }
  return raw.replace(/\/+$/, '');
}

export const keyRingName = (k: KmsKeyRef) => `projects/${k.project}/locations/${k.location}/keyRings/${k.keyRing}`;
export const cryptoKeyName = (k: KmsKeyRef) => `${keyRingName(k)}/cryptoKeys/${k.cryptoKey}`;

/** What Vault's gcpckms seal needs (roles/cloudkms.cryptoKeyEncrypterDecrypter + roles/cloudkms.viewer). */
export const SEAL_PERMISSIONS = [
  'cloudkms.cryptoKeyVersions.useToEncrypt',
  'cloudkms.cryptoKeyVersions.useToDecrypt',
  'cloudkms.cryptoKeys.get',
] as const;

export interface KmsResponse<T> {
  status: number;
  body: T;
}

/** One REST call; 404 is returned (callers decide), other errors become classified failures. */
export async function kmsCall<T>(method: 'GET' | 'POST', path: string, body?: unknown, signal?: AbortSignal): Promise<KmsResponse<T> | { status: 404; body: undefined }> {
  const url = `${kmsEndpoint()}/v1/${path}`;
  const what = `${method} ${path.replace(/\?.*$/, '')}`;
  const auth = await workerAuthHeaders();
  let res: Response;
  try {
    res = await fetch(url, {
      method,
      headers: { ...auth, ...(body !== undefined ? { 'content-type': 'application/json' } : {}) },
      ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
      redirect: 'error', // the bearer token goes to the configured endpoint and nowhere else
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
  const res = await kmsCall<{ permissions?: string[] }>('POST', `${resource}:testIamPermissions`, { permissions }, signal);
  return res.status === 404 ? undefined : (res.body?.permissions ?? []);
}

/** Encrypts with the crypto key's primary version; `aad` binds the ciphertext to where it is stored. */
export async function kmsEncrypt(k: KmsKeyRef, plaintext: Buffer, aad: string, signal?: AbortSignal): Promise<Buffer> {
  const res = await kmsCall<{ ciphertext: string }>('POST', `${cryptoKeyName(k)}:encrypt`, {
    plaintext: plaintext.toString('base64'),
    additionalAuthenticatedData: Buffer.from(aad).toString('base64'),
  }, signal);
  if (res.status === 404) throw ApplicationFailure.create({ message: `gcpkms: ${cryptoKeyName(k)} not found`, type: 'KmsKeyNotFound', nonRetryable: true });
  return Buffer.from(res.body?.ciphertext ?? '', 'base64');
}

export async function kmsDecrypt(k: KmsKeyRef, ciphertext: Buffer, aad: string, signal?: AbortSignal): Promise<Buffer> {
  const res = await kmsCall<{ plaintext: string }>('POST', `${cryptoKeyName(k)}:decrypt`, {
    ciphertext: ciphertext.toString('base64'),
    additionalAuthenticatedData: Buffer.from(aad).toString('base64'),
  }, signal);
  if (res.status === 404) throw ApplicationFailure.create({ message: `gcpkms: ${cryptoKeyName(k)} not found`, type: 'KmsKeyNotFound', nonRetryable: true });
  return Buffer.from(res.body?.plaintext ?? '', 'base64');
}
