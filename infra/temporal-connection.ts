// How the worker, the API, `npm start` and the incident activities reach the Temporal frontend: one
// place reading TEMPORAL_ADDRESS, TLS/mTLS files (TEMPORAL_TLS_*) and the bearer token Temporal's JWT
// authorizer checks (TEMPORAL_API_KEY / TEMPORAL_API_KEY_FILE). The options it returns suit both
// `Connection.connect` (client) and `NativeConnection.connect` (worker). Files are read once, at start.
import { readFileSync } from 'node:fs';
import type { TLSConfig } from '@temporalio/client';

export const DEFAULT_TEMPORAL_ADDRESS = '127.0.0.1:7233';

export interface TemporalConnectionOptions {
  address: string;
  /** Explicit: `false` keeps a bearer token on plaintext gRPC (the SDK would otherwise switch TLS on). */
  tls?: TLSConfig | boolean;
  /** Sent as `authorization: Bearer <apiKey>` on every call. */
  apiKey?: string;
}

/** The contents of the file variable `name` names (`value`: its value, read as `env.NAME` so tools see which variables are read). */
function readSetting(name: string, value: string | undefined): Buffer | undefined {
  const path = value?.trim();
  if (!path) return undefined;
  try {
    return readFileSync(path);
  } catch (err) {
    throw new Error(`${name}=${path}: cannot read the file (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})`, { cause: err });
  }
}

function tlsSwitch(env: NodeJS.ProcessEnv): boolean | undefined {
  const raw = env.TEMPORAL_TLS?.trim().toLowerCase();
  if (!raw) return undefined;
  if (raw === 'true' || raw === '1') return true;
  if (raw === 'false' || raw === '0') return false;
  throw new Error(`TEMPORAL_TLS=${env.TEMPORAL_TLS}: expected true or false`);
}

/**
 * The connection options from the environment (empty means unset):
 * - TEMPORAL_ADDRESS: host:port of the frontend (default 127.0.0.1:7233);
 * - TEMPORAL_TLS_CA: PEM file of the CA that signed the server certificate (default: the system's);
 * - TEMPORAL_TLS_CERT + TEMPORAL_TLS_KEY: PEM files of the client certificate and key (mTLS);
 * - TEMPORAL_TLS_SERVER_NAME: the name the server certificate must carry, when not the address host;
 * - TEMPORAL_TLS: true/false, forces TLS on (system CAs) or off; by default TLS is on as soon as
 *   one TEMPORAL_TLS_* file or name is set, or a token is (a bearer token is not sent in clear unless
 *   TEMPORAL_TLS=false says so);
 * - TEMPORAL_API_KEY_FILE (or TEMPORAL_API_KEY): bearer token, e.g. a JWT for the JWT authorizer.
 * Throws naming the variable when a file is unreadable or a setting is inconsistent.
 */
export function temporalConnectionFromEnv(env: NodeJS.ProcessEnv = process.env): TemporalConnectionOptions {
  const address = env.TEMPORAL_ADDRESS?.trim() || DEFAULT_TEMPORAL_ADDRESS;
  const ca = readSetting('TEMPORAL_TLS_CA', env.TEMPORAL_TLS_CA);
  const crt = readSetting('TEMPORAL_TLS_CERT', env.TEMPORAL_TLS_CERT);
  const key = readSetting('TEMPORAL_TLS_KEY', env.TEMPORAL_TLS_KEY);
  const serverName = env.TEMPORAL_TLS_SERVER_NAME?.trim() || undefined;
  if (!crt !== !key) throw new Error('TEMPORAL_TLS_CERT and TEMPORAL_TLS_KEY go together (the client certificate and its key): set both or neither');
  if (env.TEMPORAL_API_KEY?.trim() && env.TEMPORAL_API_KEY_FILE?.trim()) throw new Error('set TEMPORAL_API_KEY_FILE or TEMPORAL_API_KEY, not both');
  const apiKey = readSetting('TEMPORAL_API_KEY_FILE', env.TEMPORAL_API_KEY_FILE)?.toString('utf8').trim() ?? (env.TEMPORAL_API_KEY?.trim() || undefined);
  if (env.TEMPORAL_API_KEY_FILE?.trim() && !apiKey) throw new Error(`TEMPORAL_API_KEY_FILE=${env.TEMPORAL_API_KEY_FILE}: the file is empty`);

  const configured: TLSConfig = {
    ...(ca ? { serverRootCACertificate: ca } : {}),
    ...(crt && key ? { clientCertPair: { crt, key } } : {}),
    ...(serverName ? { serverNameOverride: serverName } : {}),
  };
  const forced = tlsSwitch(env);
  if (forced === false && Object.keys(configured).length) throw new Error('TEMPORAL_TLS=false contradicts the TEMPORAL_TLS_* settings: remove one or the other');
  const tls = forced === false ? false : Object.keys(configured).length ? configured : forced || apiKey ? true : undefined;
  return { address, ...(tls !== undefined ? { tls } : {}), ...(apiKey ? { apiKey } : {}) };
}

/** One line for logs and banners: where and how (never the token). */
export function describeTemporalConnection(o: TemporalConnectionOptions): string {
  const tls = !o.tls ? 'plaintext' : typeof o.tls === 'object' && o.tls.clientCertPair ? 'mTLS' : 'TLS';
  return `${o.address} (${tls}${o.apiKey ? ', bearer token' : ''})`;
}

/** Only the connection fields of `o` (configs carry more, e.g. the namespace). */
export function connectionOptions(o: TemporalConnectionOptions): TemporalConnectionOptions {
  return { address: o.address, ...(o.tls !== undefined ? { tls: o.tls } : {}), ...(o.apiKey ? { apiKey: o.apiKey } : {}) };
}
