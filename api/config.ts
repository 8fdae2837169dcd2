// API settings from the environment (12-factor; empty means unset); `npm start` passes its own overrides.
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { isIPv4 } from 'node:net';
import { join } from 'node:path';
import { z } from 'zod';
import { dataDir } from '../infra/tools/paths.ts';
import { TASK_QUEUE } from '../worker/config.ts';
import { devIdentities, loadDevTokens, type DevTokens } from './dev-tokens.ts';
import { strongSecret } from './links/secret.ts';
import { signingKeyFromEnv } from '../trust/signing-key.ts';
import { trustProxyFromEnv, type TrustProxy } from './trust-proxy.ts';
import { writeFileAtomic } from '../infra/tools/atomic-file.ts';
import { StaticToken } from './auth/static-tokens.ts';
import type { OidcConfig } from './auth/oidc.ts';
import { claimCheckFromEnv, keyringFromEnv, type ClaimCheckCodec, type Keyring } from '../codec/index.ts';
import { temporalConnectionFromEnv, type TemporalConnectionOptions } from '../infra/temporal-connection.ts';

export const DEFAULT_API_PORT = 3000;

export interface ApiConfig {
  host: string;
  port: number;
  /** Where and how to reach Temporal (address, TLS/mTLS, bearer token: infra/temporal-connection.ts). */
  temporal: TemporalConnectionOptions & { namespace: string; taskQueue: string };
  dataDir: string;
  /** PostgreSQL of the API's durable state (DATABASE_URL); unset: the embedded one under `<dataDir>/db` (db/). */
  databaseUrl?: string;
  /** The embedded default's tokens (printed by `npm start`), when accepted: see `devTokens`. */
  tokens?: DevTokens;
  /**
   * Whether the dev tokens are accepted: never with OIDC; `loopback` when the API listens on a loopback
   * address only; `opt-in` on any other address when CEDILLE_DEV_TOKENS=1 asks for it (the banner and
   * the log warn); otherwise `off` (not even created).
   */
  devTokens: DevTokensMode;
  /** Every static token accepted (dev tokens when on, plus CEDILLE_API_TOKENS_FILE). */
  staticTokens: StaticToken[];
  oidc?: OidcConfig;
  /** Base URL people reach the API at (approval links). */
  publicUrl: string;
  /** HMAC key of approval links. */
  linkSecret: string;
  bodyLimitBytes: number;
  /** Mutating routes: at most `max` requests per caller per `windowMs`. */
  rateLimit: { max: number; windowMs: number };
  /** Reverse proxies believed about the client address (API_TRUST_PROXY, ./trust-proxy.ts); false: none. */
  trustProxy: TrustProxy;
  /** Incident intake settings (webhook auth, opening rules, clubs): CEDILLE_INCIDENTS_CONFIG, YAML or JSON. */
  incidentsConfigPath?: string;
  /** Payload encryption keys (CEDILLE_CODEC_KEYS): the API's Temporal client and the codec endpoint use them. */
  codec?: Keyring;
  /** Large payloads out of history (CEDILLE_CLAIM_CHECK_URL, codec/claim-check.ts): the client and the codec endpoint resolve its references. */
  claimCheck?: ClaimCheckCodec;
  /** Origins (Temporal Web UIs) allowed to call the codec endpoint from a browser (CEDILLE_CODEC_CORS_ORIGINS, comma-separated). */
  codecCorsOrigins: string[];
}

export { devIdentities };

export type DevTokensMode = 'loopback' | 'opt-in' | 'off';

/** 127.0.0.0/8, ::1 (also IPv4-mapped) and `localhost`: only this machine reaches the listener. */
export function isLoopbackHost(host: string): boolean {
  const h = host.toLowerCase().replace(/^\[(.*)\]$/, '$1');
  const v4 = h.replace(/^::ffff:/, '');
  return h === 'localhost' || h === '::1' || h === '0:0:0:0:0:0:0:1' || (isIPv4(v4) && v4.startsWith('127.'));
}

function devTokensMode(env: NodeJS.ProcessEnv, host: string, oidc: boolean): DevTokensMode {
  const flag = env.CEDILLE_DEV_TOKENS?.trim() ?? '';
  if (flag && !/^(1|true|yes|0|false|no|off)$/i.test(flag)) throw new Error(`CEDILLE_DEV_TOKENS=${flag}: expected 1 (accept the dev tokens on any address) or 0 (never)`);
  const optIn = /^(1|true|yes)$/i.test(flag);
  if (oidc) {
    if (optIn) throw new Error('CEDILLE_DEV_TOKENS=1 with OIDC_ISSUER: the dev tokens are never accepted with OIDC; unset one of them');
    return 'off';
  }
  if (/^(0|false|no|off)$/i.test(flag)) return 'off';
  if (isLoopbackHost(host)) return 'loopback';
  return optIn ? 'opt-in' : 'off';
}

/** A secret kept in the data dir, created (whole, mode 0600) on first use. */
function secretIn(dir: string, name: string): string {
  const file = join(dir, name);
  const read = () => strongSecret(readFileSync(file, 'utf8').trim(), `link secret file ${file}`);
  try {
    return read();
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
  }
  try {
    writeFileAtomic(file, `${randomBytes(32).toString('base64url')}\n`, { exclusive: true });
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err; // another process created it first: use theirs
  }
  return read();
}

/**
 * The platform signing key (trust/signing-key.ts). The embedded default makes one in its data dir; with
 * a shared database (DATABASE_URL: several replicas) it must come from configuration, since a key made
 * by each replica would refuse the links and tickets of the others.
 */
function linkSecret(env: NodeJS.ProcessEnv, dir: string): string {
  const configured = signingKeyFromEnv(env);
  if (configured) return configured;
  if (env.DATABASE_URL) throw new Error('DATABASE_URL is set (state shared by several replicas) but CEDILLE_LINK_SECRET is not: every API replica and worker needs the same configured signing key');
  return secretIn(dir, 'link-secret');
}

export function apiConfigFromEnv(env = process.env): ApiConfig {
  const port = Number(env.API_PORT || DEFAULT_API_PORT);
  if (!Number.isInteger(port) || port < 0 || port > 65535) throw new Error(`API_PORT=${env.API_PORT} is not a TCP port`);
  const host = env.API_HOST || '127.0.0.1';
  const dir = dataDir(env);
  const oidc: OidcConfig | undefined = env.OIDC_ISSUER
    ? {
        issuer: env.OIDC_ISSUER,
        audience: env.OIDC_AUDIENCE || 'cedille-workflows',
        jwksUrl: env.OIDC_JWKS_URL || `${env.OIDC_ISSUER.replace(/\/$/, '')}/.well-known/jwks.json`,
        ...(env.OIDC_ROLES_CLAIM ? { rolesClaim: env.OIDC_ROLES_CLAIM } : {}),
        ...(env.OIDC_GROUPS_CLAIM ? { groupsClaim: env.OIDC_GROUPS_CLAIM } : {}),
      }
    : undefined;
  const codec = keyringFromEnv(env);
  const claimCheck = claimCheckFromEnv(env, codec);
  const fromFile = env.CEDILLE_API_TOKENS_FILE ? z.array(StaticToken).parse(JSON.parse(readFileSync(env.CEDILLE_API_TOKENS_FILE, 'utf8'))) : [];
  const devTokens = devTokensMode(env, host, Boolean(oidc));
  if (devTokens === 'off' && !oidc && !fromFile.length) {
    throw new Error(
      `the API would accept no credential: ${isLoopbackHost(host) ? 'CEDILLE_DEV_TOKENS=0 turns the dev tokens off' : `it listens on ${host}, not a loopback address, so the dev tokens are off`}. ` +
        'Set OIDC_ISSUER or CEDILLE_API_TOKENS_FILE (or, on a trusted network only, CEDILLE_DEV_TOKENS=1)',
    );
  }
  const tokens = devTokens === 'off' ? undefined : loadDevTokens(dir);
  return {
    host,
    port,
    temporal: { ...temporalConnectionFromEnv(env), namespace: env.TEMPORAL_NAMESPACE || 'default', taskQueue: TASK_QUEUE },
    dataDir: dir,
    ...(env.DATABASE_URL ? { databaseUrl: env.DATABASE_URL } : {}),
    ...(tokens ? { tokens } : {}),
    devTokens,
    staticTokens: [...(tokens ? devIdentities(tokens) : []), ...fromFile],
    ...(oidc ? { oidc } : {}),
    publicUrl: (env.API_PUBLIC_URL || `http://${host}:${port}`).replace(/\/$/, ''),
    linkSecret: linkSecret(env, dir),
    bodyLimitBytes: Number(env.API_BODY_LIMIT || 1024 * 1024),
    rateLimit: { max: Number(env.API_RATE_LIMIT_MAX || 120), windowMs: Number(env.API_RATE_LIMIT_WINDOW_MS || 60_000) },
    trustProxy: trustProxyFromEnv(env.API_TRUST_PROXY),
    ...(env.CEDILLE_INCIDENTS_CONFIG ? { incidentsConfigPath: env.CEDILLE_INCIDENTS_CONFIG } : {}),
    ...(codec ? { codec } : {}),
    ...(claimCheck ? { claimCheck } : {}),
    codecCorsOrigins: (env.CEDILLE_CODEC_CORS_ORIGINS ?? '').split(',').map((o) => o.trim().replace(/\/+$/, '')).filter(Boolean),
  };
}
