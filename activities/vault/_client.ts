// The one Vault/OpenBao HTTP client of the vault.* activities (node:http/https, no library): the
// server's address, verified with the CA of the TLS Secret step 1 made (`ca.crt`), and the Secret
// holding the init material (./_keys.ts). Tokens are read inside the activities, never passed in.
//   retryable:     network errors, 5xx but 501 (not initialised), 429
//   non-retryable: other 4xx (VaultError with Vault's own `errors`)
import { request as httpRequest } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { ApplicationFailure } from '@temporalio/common';
import { z } from 'zod';
import { KmsKeyRef } from '../gcpkms/_client.ts';
import { kube } from '../kubernetes/_client.ts';
import { classified } from '../kubernetes/_errors.ts';
import { kName, kNamespace } from '../kubernetes/_objects.ts';

export const VaultRef = z.strictObject({
  address: z.url().describe('Where the worker reaches Vault, e.g. https://vault.vault.svc:8200'),
  namespace: kNamespace.describe('Namespace of Vault and of its Secrets'),
  tlsSecret: kName.default('vault-tls').describe('Secret whose ca.crt verifies the server (an http:// address skips it)'),
  keysSecret: kName.default('vault-init').describe('Secret where init stores the encrypted keys and root token'),
  kms: KmsKeyRef.describe('Cloud KMS key wrapping what init stores'),
});
export type VaultRef = z.output<typeof VaultRef>;

export interface VaultResponse<T = Record<string, unknown>> {
  status: number;
  body: T;
}

export interface VaultClient {
  call<T = Record<string, unknown>>(method: string, path: string, opts?: { token?: string; body?: unknown; ok?: number[] }): Promise<VaultResponse<T>>;
}

function errorsOf(text: string): string {
  try {
    const errors = (JSON.parse(text) as { errors?: string[] }).errors;
    if (errors?.length) return errors.join('; ');
  } catch {
    /* not JSON */
  }
  return text.slice(0, 300) || '(empty body)';
}

async function caOf(ref: VaultRef, signal: AbortSignal): Promise<string | undefined> {
  if (!ref.address.startsWith('https:')) return undefined;
  const s = await classified(`get Secret ${ref.namespace}/${ref.tlsSecret}`, signal, () => kube().get({ apiVersion: 'v1', kind: 'Secret', namespace: ref.namespace, name: ref.tlsSecret }, signal));
  const ca = (s.data as Record<string, string> | undefined)?.['ca.crt'];
  if (!ca) throw ApplicationFailure.create({ message: `vault: Secret ${ref.namespace}/${ref.tlsSecret} has no ca.crt`, type: 'VaultTlsMissing', nonRetryable: true });
  return Buffer.from(ca, 'base64').toString('utf8');
}

/** A client of `ref.address`; statuses in `ok` (default 2xx) resolve, others throw classified failures. */
export async function vaultClient(ref: VaultRef, signal: AbortSignal): Promise<VaultClient> {
  const ca = await caOf(ref, signal);
  const base = new URL(ref.address);
  return {
    call<T>(method: string, path: string, opts: { token?: string; body?: unknown; ok?: number[] } = {}) {
      const url = new URL(`/v1/${path.replace(/^\/+/, '')}`, base);
      const what = `${method} /v1/${path.replace(/\?.*$/, '')}`;
      return new Promise<VaultResponse<T>>((resolve, reject) => {
        const body = opts.body === undefined ? undefined : JSON.stringify(opts.body);
        const headers: Record<string, string> = { accept: 'application/json' };
        if (opts.token) headers['x-vault-token'] = opts.token;
        if (body) headers['content-type'] = 'application/json';
        const req = (url.protocol === 'https:' ? httpsRequest : httpRequest)(url, { method, headers, signal, timeout: 15_000, ...(ca ? { ca } : {}) }, (res) => {
          let text = '';
          res.setEncoding('utf8');
          res.on('data', (d: string) => (text += d));
          res.on('end', () => {
            const status = res.statusCode ?? 0;
            if (opts.ok ? opts.ok.includes(status) : status >= 200 && status < 300) {
              let parsed: unknown = {};
              try {
                parsed = text ? JSON.parse(text) : {};
              } catch {
                parsed = { raw: text };
              }
              resolve({ status, body: parsed as T });
              return;
            }
            const retryable = status === 429 || (status >= 500 && status !== 501);
            reject(ApplicationFailure.create({
              message: `vault: ${what}: HTTP ${status}: ${errorsOf(text)}`,
              type: status === 503 ? 'VaultSealed' : retryable ? 'VaultUnavailable' : status === 403 ? 'VaultPermissionDenied' : 'VaultError',
              nonRetryable: !retryable,
              details: [{ status }],
            }));
          });
          res.on('error', reject);
        });
        req.on('timeout', () => req.destroy(new Error('timed out after 15 s')));
        req.on('error', (err) => {
          if (signal.aborted) reject(err);
          else reject(ApplicationFailure.create({ message: `vault: ${what}: ${err.message}`, type: 'VaultUnavailable', nonRetryable: false }));
        });
        req.end(body);
      });
    },
  };
}

export interface SealStatus {
  type: string;
  initialized: boolean;
  sealed: boolean;
  t: number;
  n: number;
  progress: number;
  version: string;
}

export async function sealStatus(client: VaultClient): Promise<SealStatus> {
  return (await client.call<SealStatus>('GET', 'sys/seal-status')).body;
}
