// API settings from the environment (12-factor; empty means unset); `npm start` passes its own overrides.
import { randomBytes } from 'node:crypto';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { z } from 'zod';
import { dataDir } from '../infra/tools/paths.ts';
import { TASK_QUEUE } from '../worker/config.ts';
import { loadDevTokens, type DevTokens } from './dev-tokens.ts';
import { StaticToken } from './auth/static-tokens.ts';
import type { OidcConfig } from './auth/oidc.ts';
import { keyringFromEnv, type Keyring } from '../codec/index.ts';

export const DEFAULT_API_PORT = 3000;

export interface ApiConfig {
  host: string;
  port: number;
  temporal: { address: string; namespace: string; taskQueue: string };
  dataDir: string;
  /** The embedded default's tokens (printed by `npm start`); accepted only without OIDC. */
  tokens: DevTokens;
  /** Every static token accepted (dev tokens without OIDC, plus CEDILLE_API_TOKENS_FILE). */
  staticTokens: StaticToken[];
  oidc?: OidcConfig;
  /** Base URL people reach the API at (approval links). */
  publicUrl: string;
  /** HMAC key of approval links. */
  linkSecret: string;
  bodyLimitBytes: number;
  /** Mutating routes: at most `max` requests per caller per `windowMs`. */
  rateLimit: { max: number; windowMs: number };
  /** Incident intake settings (webhook auth, opening rules, clubs): CEDILLE_INCIDENTS_CONFIG, YAML or JSON. */
  incidentsConfigPath?: string;
  /** Payload encryption keys (CEDILLE_CODEC_KEYS): the API's Temporal client and the codec endpoint use them. */
  codec?: Keyring;
  /** Origins (Temporal Web UIs) allowed to call the codec endpoint from a browser (CEDILLE_CODEC_CORS_ORIGINS, comma-separated). */
  codecCorsOrigins: string[];
}

/** The dev tokens as identities: an admin (no approver group, so four-eyes shows) and an approver of every group. */
export function devIdentities(tokens: DevTokens): StaticToken[] {
  return [
    { token: tokens.admin, subject: 'dev-admin', name: 'Dev admin', roles: ['admin'], groups: [] },
    { token: tokens.approver, subject: 'dev-approver', name: 'Dev approver', roles: ['operator'], groups: ['ets-it', 'sre', 'admins'] },
  ];
}

function secretIn(dir: string, name: string): string {
  const file = join(dir, name);
  try {
    return readFileSync(file, 'utf8').trim();
  } catch {
    mkdirSync(dir, { recursive: true });
    const secret = randomBytes(32).toString('base64url');
    writeFileSync(file, `${secret}\n`, { mode: 0o600 });
    return secret;
  }
}

export function apiConfigFromEnv(env = process.env): ApiConfig {
  const port = Number(env.API_PORT || DEFAULT_API_PORT);
  if (!Number.isInteger(port) || port < 0 || port > 65535) throw new Error(`API_PORT=${env.API_PORT} is not a TCP port`);
  const host = env.API_HOST || '127.0.0.1';
  const dir = dataDir(env);
  const tokens = loadDevTokens(dir);
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
  const fromFile = env.CEDILLE_API_TOKENS_FILE ? z.array(StaticToken).parse(JSON.parse(readFileSync(env.CEDILLE_API_TOKENS_FILE, 'utf8'))) : [];
  return {
    host,
    port,
    temporal: { address: env.TEMPORAL_ADDRESS || '127.0.0.1:7233', namespace: env.TEMPORAL_NAMESPACE || 'default', taskQueue: TASK_QUEUE },
    dataDir: dir,
    tokens,
    staticTokens: [...(oidc ? [] : devIdentities(tokens)), ...fromFile],
    ...(oidc ? { oidc } : {}),
    publicUrl: (env.API_PUBLIC_URL || `http://${host}:${port}`).replace(/\/$/, ''),
    linkSecret: env.CEDILLE_LINK_SECRET || secretIn(dir, 'link-secret'),
    bodyLimitBytes: Number(env.API_BODY_LIMIT || 1024 * 1024),
    rateLimit: { max: Number(env.API_RATE_LIMIT_MAX || 120), windowMs: Number(env.API_RATE_LIMIT_WINDOW_MS || 60_000) },
    ...(env.CEDILLE_INCIDENTS_CONFIG ? { incidentsConfigPath: env.CEDILLE_INCIDENTS_CONFIG } : {}),
    ...(codec ? { codec } : {}),
    codecCorsOrigins: (env.CEDILLE_CODEC_CORS_ORIGINS ?? '').split(',').map((o) => o.trim().replace(/\/+$/, '')).filter(Boolean),
  };
}
