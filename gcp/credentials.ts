// Google Cloud credentials of the worker (GCS, Cloud KMS) and of the backup agent (GCS), through Google's
// own auth library (google-auth-library, Application Default Credentials). The credential file is
// configuration: GOOGLE_APPLICATION_CREDENTIALS, never a run input. Two kinds are accepted:
//  - `external_account` (Workload Identity Federation, what suits a bare-metal cluster): the subject token is
//    a file (a projected ServiceAccount token), exchanged at the file's `token_url` (Google's STS) and, with
//    `service_account_impersonation_url`, traded for a service account's access token (IAM credentials);
//  - `service_account` (a key file).
// Unset: the library's default chain (gcloud's application-default file, the GCE/GKE metadata server).
// An external_account file must take its subject token from a file: URL- and executable-sourced subject
// tokens (which would make the library call out to, or run, whatever the file says) are refused.
// Failures name the credential file and the stage that failed (reading, token exchange, impersonation).
import { readFileSync } from 'node:fs';
import { GoogleAuth, IdentityPoolClient, JWT, type AuthClient } from 'google-auth-library';

export const CLOUD_PLATFORM_SCOPE = 'https://www.googleapis.com/auth/cloud-platform';
export const JWT_TOKEN_TYPE = 'urn:ietf:params:oauth:token-type:jwt';

/** A credential problem; `retryable` for network errors and 5xx/429 of the token services. */
export class GcpCredentialsError extends Error {
  override name = 'GcpCredentialsError';
  constructor(message: string, readonly retryable: boolean) {
    super(message);
  }
}

export interface ExternalAccountFile {
  type: 'external_account';
  audience: string;
  subject_token_type: string;
  token_url: string;
  service_account_impersonation_url?: string;
  credential_source: { file: string; format?: { type: string } };
  [k: string]: unknown;
}

export interface GcpCredentials {
  /** The credential file, or undefined for the library's default chain. */
  file: string | undefined;
  kind: 'external_account' | 'service_account' | 'default';
  /** The parsed file, whatever its kind. */
  json?: Record<string, unknown>;
  /** The library's client (what @google-cloud/storage takes as authClient). */
  auth: AuthClient | GoogleAuth;
  /** `{ authorization: 'Bearer …' }` (the library caches the token until shortly before it expires). */
  headers(): Promise<Record<string, string>>;
}

function httpUrl(file: string, field: string, value: unknown): string {
  if (typeof value !== 'string' || !URL.canParse(value) || !/^https?:$/.test(new URL(value).protocol)) {
    throw new GcpCredentialsError(`GCP credentials ${file}: ${field} is not an http(s) URL`, false);
  }
  return value;
}

/** Reads and checks a credential file (throws GcpCredentialsError naming it). */
export function readCredentialFile(file: string): Record<string, unknown> {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    throw new GcpCredentialsError(`GCP credentials ${file}: cannot read the file: ${(err as Error).message}`, false);
  }
  let json: Record<string, unknown>;
  try {
    json = JSON.parse(text) as Record<string, unknown>;
  } catch (err) {
    throw new GcpCredentialsError(`GCP credentials ${file}: not JSON: ${(err as Error).message}`, false);
  }
  if (json.type === 'service_account') {
    if (typeof json.client_email !== 'string' || typeof json.private_key !== 'string') {
      throw new GcpCredentialsError(`GCP credentials ${file}: a service_account key file needs client_email and private_key`, false);
    }
    return json;
  }
  if (json.type !== 'external_account') {
    throw new GcpCredentialsError(`GCP credentials ${file}: type ${JSON.stringify(json.type)} is not supported (external_account or service_account)`, false);
  }
  const source = json.credential_source as Record<string, unknown> | undefined;
  if (!source || typeof source.file !== 'string' || Object.keys(source).some((k) => k !== 'file' && k !== 'format')) {
    throw new GcpCredentialsError(`GCP credentials ${file}: credential_source must be { file } (a projected ServiceAccount token); URL, executable and AWS sources are not accepted`, false);
  }
  if (typeof json.audience !== 'string' || !json.audience) throw new GcpCredentialsError(`GCP credentials ${file}: no audience`, false);
  if (json.subject_token_type !== JWT_TOKEN_TYPE) throw new GcpCredentialsError(`GCP credentials ${file}: subject_token_type must be ${JWT_TOKEN_TYPE}`, false);
  httpUrl(file, 'token_url', json.token_url);
  if (json.service_account_impersonation_url !== undefined) httpUrl(file, 'service_account_impersonation_url', json.service_account_impersonation_url);
  return json;
}

interface HttpishError {
  message?: string;
  code?: unknown;
  status?: number;
  response?: { status?: number; data?: unknown };
  config?: { url?: unknown };
}

function sameUrl(a: unknown, b: unknown): boolean {
  if (a === undefined || typeof b !== 'string' || !URL.canParse(String(a)) || !URL.canParse(b)) return false;
  return new URL(String(a)).href === new URL(b).href;
}

/**
 * The credentials failure behind an error of a client using `creds` (a GCS call whose token could not be
 * had), or undefined when the error is the service's own.
 */
export function credentialsFailureOf(creds: GcpCredentials, err: unknown): GcpCredentialsError | undefined {
  if (err instanceof GcpCredentialsError) return err;
  const e = (err ?? {}) as HttpishError;
  const json = creds.json;
  const fromTokenService = sameUrl(e.config?.url, json?.token_url) || sameUrl(e.config?.url, json?.service_account_impersonation_url) || /^Error code /.test(e.message ?? '');
  const noDefault = creds.kind === 'default' && /Could not load the default credentials/.test(e.message ?? '');
  return fromTokenService || noDefault ? describeFailure(creds.file, json, err) : undefined;
}

/** What went wrong getting a token, in words that name the file and the stage. */
export function describeFailure(file: string | undefined, creds: Record<string, unknown> | undefined, err: unknown): GcpCredentialsError {
  const e = (err ?? {}) as HttpishError;
  const where = file ? `GCP credentials ${file}` : 'GCP default credentials (GOOGLE_APPLICATION_CREDENTIALS unset)';
  const status = e.response?.status ?? e.status;
  let stage = 'no access token';
  if (sameUrl(e.config?.url, creds?.service_account_impersonation_url)) stage = `impersonation refused by ${String(creds?.service_account_impersonation_url)}`;
  else if (sameUrl(e.config?.url, creds?.token_url)) stage = `token exchange refused by ${String(creds?.token_url)}`;
  const data = e.response?.data as { error?: { message?: string } | string; error_description?: string } | undefined;
  const detail = (typeof data?.error === 'object' ? data.error.message : undefined) ?? (e.message ?? String(err)).replace(/^Error code /, '');
  const network = status === undefined && /ECONNREFUSED|ECONNRESET|ETIMEDOUT|EAI_AGAIN|ENOTFOUND|socket hang up|fetch failed/i.test(`${String(e.code ?? '')} ${e.message ?? ''}`);
  const retryable = network || status === 429 || (status !== undefined && status >= 500);
  return new GcpCredentialsError(`${where}: ${network ? 'token service unreachable' : stage}${status ? ` (HTTP ${status})` : ''}: ${detail}`, retryable);
}

/** Credentials from a file (or the default chain when `file` is undefined), for `scopes`. */
export function gcpCredentials(file: string | undefined, scopes: string[] = [CLOUD_PLATFORM_SCOPE]): GcpCredentials {
  const json = file ? readCredentialFile(file) : undefined;
  // Built from the parsed content, not the path: what was checked is what the library uses.
  let auth: AuthClient | GoogleAuth;
  if (json?.type === 'external_account') {
    auth = new IdentityPoolClient({ ...(json as unknown as ExternalAccountFile), scopes } as never);
  } else if (json?.type === 'service_account') {
    auth = new JWT({ email: json.client_email as string, key: json.private_key as string, ...(typeof json.private_key_id === 'string' ? { keyId: json.private_key_id } : {}), scopes });
  } else {
    auth = new GoogleAuth({ scopes });
  }
  return {
    file,
    kind: (json?.type as 'external_account' | 'service_account' | undefined) ?? 'default',
    ...(json ? { json } : {}),
    auth,
    async headers() {
      let headers: Headers;
      try {
        headers = await auth.getRequestHeaders();
      } catch (err) {
        throw describeFailure(file, json, err);
      }
      const authorization = headers.get('authorization');
      if (!authorization) throw new GcpCredentialsError(`${file ? `GCP credentials ${file}` : 'GCP default credentials'}: no access token`, false);
      return { authorization };
    },
  };
}

let cached: { file: string | undefined; credentials: GcpCredentials } | undefined;

/**
 * The process's credentials (one auth client per process, so tokens are cached once): from
 * GOOGLE_APPLICATION_CREDENTIALS, made again only when that variable changes.
 */
export function processCredentials(env: NodeJS.ProcessEnv = process.env): GcpCredentials {
  const file = env.GOOGLE_APPLICATION_CREDENTIALS?.trim() || undefined;
  if (!cached || cached.file !== file) cached = { file, credentials: gcpCredentials(file) };
  return cached.credentials;
}
