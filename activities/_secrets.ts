// Secrets by reference: definitions, inputs and the worker's config name a secret by its Vault path,
// and the activity that needs the value reads it from Vault at the last moment. The value never enters
// workflow history (inputs carry the reference; outputs and errors never carry the value).
//
// A reference is either the string `vault:<path>#<field>` or the object `{ vault: "<path>#<field>",
// prefix?: "Bearer " }` (the prefix is prepended to the value: an Authorization header). `<path>` is the
// API path after /v1/: `secret/data/notify` for a KV v2 mount named `secret`, `kv/notify` for KV v1;
// a KV v2 answer (`data.data`) is unwrapped.
//
// The worker reaches Vault with VAULT_ADDR (or BAO_ADDR) and, in that order: VAULT_TOKEN,
// VAULT_TOKEN_FILE, or Kubernetes auth (VAULT_K8S_ROLE, mount VAULT_K8S_MOUNT default `kubernetes`,
// the service account token file VAULT_K8S_JWT_FILE default
// /var/run/secrets/kubernetes.io/serviceaccount/token). VAULT_NAMESPACE is sent when set. HTTPS
// servers with a private CA: NODE_EXTRA_CA_CERTS. Values are cached 30 s per worker.
import { readFileSync } from 'node:fs';
import { ApplicationFailure } from '@temporalio/common';
import { z } from 'zod';

const REF = /^vault:([^#\s]+)#([^#\s]+)$/;
const PATH_FIELD = /^([^#\s]+)#([^#\s]+)$/;

export const SecretRefString = z.string().regex(REF, 'a secret reference: vault:<path>#<field>');
export const SecretRefObject = z.strictObject({
  vault: z.string().regex(PATH_FIELD, '<path>#<field>').describe('Vault API path (after /v1/) and field, e.g. secret/data/notify#discordWebhook'),
  prefix: z.string().max(100).optional().describe('Prepended to the value, e.g. "Bearer "'),
});
/** A reference to a secret in Vault (never the secret itself). */
export const SecretRef = z.union([SecretRefString, SecretRefObject]).describe('A secret by reference: "vault:<path>#<field>" or { vault: "<path>#<field>", prefix? }');
export type SecretRef = z.infer<typeof SecretRef>;

export function isSecretRef(value: unknown): value is SecretRef {
  return SecretRef.safeParse(value).success;
}

/** Path, field and prefix of a reference. */
export function parseSecretRef(ref: SecretRef): { path: string; field: string; prefix: string } {
  const m = typeof ref === 'string' ? REF.exec(ref) : PATH_FIELD.exec(ref.vault);
  if (!m) throw ApplicationFailure.nonRetryable(`not a secret reference: ${typeof ref === 'string' ? ref : ref.vault}`, 'SecretRefInvalid');
  return { path: m[1]!.replace(/^\/+/, '').replace(/^v1\//, ''), field: m[2]!, prefix: typeof ref === 'string' ? '' : (ref.prefix ?? '') };
}

/** How the worker reaches Vault (tests point it at their dev OpenBao). */
export interface VaultAccess {
  address: string;
  token?: string;
  namespace?: string;
  kubernetes?: { role: string; mount: string; jwtFile: string };
}

export function vaultAccessFromEnv(env: NodeJS.ProcessEnv = process.env): VaultAccess | undefined {
  const address = env.VAULT_ADDR || env.BAO_ADDR;
  if (!address) return undefined;
  const token = env.VAULT_TOKEN || env.BAO_TOKEN || (env.VAULT_TOKEN_FILE ? readFileSync(env.VAULT_TOKEN_FILE, 'utf8').trim() : undefined);
  return {
    address: address.replace(/\/+$/, ''),
    ...(token ? { token } : {}),
    ...(env.VAULT_NAMESPACE ? { namespace: env.VAULT_NAMESPACE } : {}),
    ...(!token && env.VAULT_K8S_ROLE
      ? { kubernetes: { role: env.VAULT_K8S_ROLE, mount: env.VAULT_K8S_MOUNT || 'kubernetes', jwtFile: env.VAULT_K8S_JWT_FILE || '/var/run/secrets/kubernetes.io/serviceaccount/token' } }
      : {}),
  };
}

const CACHE_MS = 30_000;
const cache = new Map<string, { at: number; data: Record<string, unknown> }>();
let k8sToken: { address: string; token: string; until: number } | undefined;

/** Forgets cached values and login tokens (tests; a rotated secret is otherwise seen within 30 s). */
export function forgetSecrets(): void {
  cache.clear();
  k8sToken = undefined;
}

async function vaultFetch(access: VaultAccess, method: string, path: string, token: string | undefined, body?: unknown, signal?: AbortSignal): Promise<Response> {
  try {
    return await fetch(`${access.address}/v1/${path}`, {
      method,
      headers: {
        ...(token ? { 'x-vault-token': token } : {}),
        ...(access.namespace ? { 'x-vault-namespace': access.namespace } : {}),
        ...(body !== undefined ? { 'content-type': 'application/json' } : {}),
      },
      ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
      signal: AbortSignal.any([AbortSignal.timeout(10_000), ...(signal ? [signal] : [])]),
    });
  } catch (err) {
    throw ApplicationFailure.retryable(`Vault ${access.address} unreachable: ${(err as Error).message}`, 'VaultUnavailable');
  }
}

async function tokenFor(access: VaultAccess, signal?: AbortSignal): Promise<string> {
  if (access.token) return access.token;
  const k = access.kubernetes;
  if (!k) throw ApplicationFailure.nonRetryable('the worker has no Vault credentials: set VAULT_TOKEN, VAULT_TOKEN_FILE or VAULT_K8S_ROLE', 'SecretAccessDenied');
  if (k8sToken && k8sToken.address === access.address && k8sToken.until > Date.now()) return k8sToken.token;
  const jwt = readFileSync(k.jwtFile, 'utf8').trim();
  const res = await vaultFetch(access, 'POST', `auth/${k.mount}/login`, undefined, { role: k.role, jwt }, signal);
  if (res.status >= 500 || res.status === 429) throw ApplicationFailure.retryable(`Vault login (${k.mount}, role ${k.role}): HTTP ${res.status}`, 'VaultUnavailable');
  if (!res.ok) throw ApplicationFailure.nonRetryable(`Vault login (${k.mount}, role ${k.role}) refused: HTTP ${res.status}`, 'SecretAccessDenied');
  const auth = ((await res.json()) as { auth?: { client_token?: string; lease_duration?: number } }).auth;
  if (!auth?.client_token) throw ApplicationFailure.nonRetryable(`Vault login (${k.mount}, role ${k.role}): no token in the answer`, 'SecretAccessDenied');
  k8sToken = { address: access.address, token: auth.client_token, until: Date.now() + Math.max(0, (auth.lease_duration ?? 300) - 30) * 1000 };
  return auth.client_token;
}

async function readPath(access: VaultAccess, path: string, signal?: AbortSignal): Promise<Record<string, unknown>> {
  const hit = cache.get(`${access.address}|${path}`);
  if (hit && Date.now() - hit.at < CACHE_MS) return hit.data;
  const res = await vaultFetch(access, 'GET', path, await tokenFor(access, signal), undefined, signal);
  if (res.status >= 500 || res.status === 429) throw ApplicationFailure.retryable(`Vault ${path}: HTTP ${res.status}`, 'VaultUnavailable');
  if (res.status === 403) {
    k8sToken = undefined; // an expired login token: the next attempt logs in again
    throw ApplicationFailure.create({ message: `Vault ${path}: permission denied for the worker's token`, type: 'SecretAccessDenied', nonRetryable: !access.kubernetes });
  }
  if (res.status === 404) throw ApplicationFailure.nonRetryable(`Vault ${path}: no secret there`, 'SecretNotFound');
  if (!res.ok) throw ApplicationFailure.nonRetryable(`Vault ${path}: HTTP ${res.status}`, 'SecretNotFound');
  const body = (await res.json()) as { data?: Record<string, unknown> };
  const outer = body.data ?? {};
  // KV v2 wraps the secret: { data: { data: {...}, metadata: {...} } }.
  const data = outer.data && typeof outer.data === 'object' && outer.metadata && typeof outer.metadata === 'object' ? (outer.data as Record<string, unknown>) : outer;
  cache.set(`${access.address}|${path}`, { at: Date.now(), data });
  return data;
}

/** The value a reference points at. Failures name the path and field, never a value. */
export async function resolveSecret(ref: SecretRef, opts: { access?: VaultAccess; signal?: AbortSignal } = {}): Promise<string> {
  const { path, field, prefix } = parseSecretRef(ref);
  const access = opts.access ?? vaultAccessFromEnv();
  if (!access) throw ApplicationFailure.nonRetryable(`secret ${path}#${field}: the worker has no VAULT_ADDR`, 'SecretAccessDenied');
  const data = await readPath(access, path, opts.signal);
  const value = data[field];
  if (value === undefined || value === null) throw ApplicationFailure.nonRetryable(`Vault ${path}: no field ${field}`, 'SecretNotFound');
  return prefix + (typeof value === 'string' ? value : JSON.stringify(value));
}

/** `value` itself, or the secret it references. */
export async function valueOrSecret(value: string | SecretRef, opts: { access?: VaultAccess; signal?: AbortSignal } = {}): Promise<string> {
  return isSecretRef(value) ? resolveSecret(value, opts) : (value as string);
}
