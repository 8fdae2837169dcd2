// Data keys from Vault (or OpenBao) transit: a fresh 256-bit key per backup (`datakey/plaintext`), kept in
// memory only; its transit-wrapped form goes in the manifest and restore unwraps it with `transit/decrypt`.
// Vault is reached with plain fetch: a token (file or VAULT_TOKEN) or a Kubernetes service-account login.
import { readFile } from 'node:fs/promises';
import { AgentError, IntegrityError, UsageError } from './errors.ts';

export interface VaultOptions {
  addr: string;
  /** A token, or a file holding one, or a Kubernetes auth role and service-account JWT file. */
  token?: string;
  tokenFile?: string;
  role?: string;
  jwtFile?: string;
  /** Mount of the Kubernetes auth method (default `kubernetes`). */
  authMount?: string;
  /** Vault Enterprise / OpenBao namespace header. */
  namespace?: string;
  timeoutMs?: number;
}

export interface DataKey {
  plaintext: Buffer;
  wrapped: string;
  keyVersion: number;
}

export class VaultClient {
  private constructor(private readonly opts: VaultOptions, private readonly token: string) {}

  /** Logs in as the options say (token, token file, or Kubernetes role + JWT). */
  static async login(opts: VaultOptions): Promise<VaultClient> {
    if (opts.token) return new VaultClient(opts, opts.token.trim());
    if (opts.tokenFile) {
      const token = (await readFile(opts.tokenFile, 'utf8').catch((e: Error) => {
        throw new UsageError('--vault-token-file', `cannot read ${opts.tokenFile}: ${e.message}`);
      })).trim();
      if (!token) throw new UsageError('--vault-token-file', `${opts.tokenFile} is empty`);
      return new VaultClient(opts, token);
    }
    if (opts.role && opts.jwtFile) {
      const jwt = (await readFile(opts.jwtFile, 'utf8').catch((e: Error) => {
        throw new UsageError('--vault-jwt-file', `cannot read ${opts.jwtFile}: ${e.message}`);
      })).trim();
      const mount = opts.authMount ?? 'kubernetes';
      const res = await vaultRequest(opts, undefined, `auth/${mount}/login`, { role: opts.role, jwt });
      const token = (res.auth as { client_token?: string } | undefined)?.client_token;
      if (!token) throw new AgentError(`Vault login at auth/${mount} (role ${opts.role}) returned no token`);
      return new VaultClient(opts, token);
    }
    throw new UsageError('--vault-token-file', 'Vault credentials needed: --vault-token-file (or VAULT_TOKEN), or --vault-role with --vault-jwt-file');
  }

  async newDataKey(mount: string, key: string): Promise<DataKey> {
    const res = await vaultRequest(this.opts, this.token, `${mount}/datakey/plaintext/${encodeURIComponent(key)}`, { bits: 256 });
    const data = res.data as { plaintext?: string; ciphertext?: string; key_version?: number } | undefined;
    if (!data?.plaintext || !data.ciphertext) throw new AgentError(`Vault ${mount}/datakey returned no key`);
    const plaintext = Buffer.from(data.plaintext, 'base64');
    if (plaintext.length !== 32) throw new AgentError(`Vault ${mount}/datakey returned a ${plaintext.length}-byte key, expected 32`);
    return { plaintext, wrapped: data.ciphertext, keyVersion: data.key_version ?? versionOf(data.ciphertext) };
  }

  /** Unwraps a data key; a ciphertext transit refuses (tampered, other key) is an IntegrityError. */
  async unwrapDataKey(mount: string, key: string, wrapped: string): Promise<Buffer> {
    let res: Record<string, unknown>;
    try {
      res = await vaultRequest(this.opts, this.token, `${mount}/decrypt/${encodeURIComponent(key)}`, { ciphertext: wrapped });
    } catch (err) {
      if (err instanceof VaultHttpError && err.status === 400) {
        throw new IntegrityError(`Vault refused to unwrap the data key with ${mount}/${key} (${err.detail}): wrapped key tampered with, or not made by this transit key`);
      }
      throw err;
    }
    const plaintext = Buffer.from((res.data as { plaintext?: string } | undefined)?.plaintext ?? '', 'base64');
    if (plaintext.length !== 32) throw new IntegrityError(`unwrapped data key is ${plaintext.length} bytes, expected 32`);
    return plaintext;
  }
}

function versionOf(ciphertext: string): number {
  const m = /^vault:v(\d+):/.exec(ciphertext);
  return m ? Number(m[1]) : 1;
}

class VaultHttpError extends AgentError {
  constructor(readonly status: number, readonly detail: string, path: string) {
    super(`Vault ${path}: HTTP ${status}: ${detail}`);
  }
}

/** POST to /v1/<path>; network errors and 5xx are retried 3 times, then reported with the address. */
async function vaultRequest(opts: VaultOptions, token: string | undefined, path: string, body: unknown): Promise<Record<string, unknown>> {
  const url = `${opts.addr.replace(/\/+$/, '')}/v1/${path}`;
  const headers: Record<string, string> = { 'content-type': 'application/json' };
  if (token) headers['X-Vault-Token'] = token;
  if (opts.namespace) headers['X-Vault-Namespace'] = opts.namespace;
  let lastError: unknown;
  for (let attempt = 1; attempt <= 3; attempt++) {
    if (attempt > 1) await new Promise((r) => setTimeout(r, 500 * 2 ** (attempt - 2)));
    let res: Response;
    try {
      res = await fetch(url, { method: 'POST', headers, body: JSON.stringify(body), signal: AbortSignal.timeout(opts.timeoutMs ?? 15_000) });
    } catch (err) {
      lastError = err;
      continue;
    }
    const text = await res.text();
    if (res.status >= 500) {
      lastError = new VaultHttpError(res.status, text.slice(0, 300), path);
      continue;
    }
    if (!res.ok) {
      let detail = text.slice(0, 300);
      try {
        detail = ((JSON.parse(text) as { errors?: string[] }).errors ?? []).join('; ') || detail;
      } catch {
        /* not JSON */
      }
      throw new VaultHttpError(res.status, detail, path);
    }
    return text ? (JSON.parse(text) as Record<string, unknown>) : {};
  }
  if (lastError instanceof VaultHttpError) throw lastError;
  const cause = lastError as (Error & { cause?: { code?: string; message?: string } }) | undefined;
  const why = cause?.cause?.code ?? cause?.cause?.message ?? cause?.message ?? String(lastError);
  throw new AgentError(`Vault unreachable at ${opts.addr} (${why}); check --vault-addr / VAULT_ADDR`);
}
