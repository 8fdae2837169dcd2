// API settings from the environment (12-factor; empty means unset); `npm start` passes its own overrides.
import { dataDir } from '../infra/tools/paths.ts';
import { loadDevTokens, type DevTokens } from './dev-tokens.ts';

export const DEFAULT_API_PORT = 3000;

export interface ApiConfig {
  host: string;
  port: number;
  temporal: { address: string; namespace: string };
  /** Static tokens accepted when no OIDC issuer is configured (the embedded default). */
  tokens: DevTokens;
}

export function apiConfigFromEnv(env = process.env): ApiConfig {
  const port = Number(env.API_PORT || DEFAULT_API_PORT);
  if (!Number.isInteger(port) || port < 0 || port > 65535) throw new Error(`API_PORT=${env.API_PORT} is not a TCP port`);
  return {
    host: env.API_HOST || '127.0.0.1',
    port,
    temporal: { address: env.TEMPORAL_ADDRESS || '127.0.0.1:7233', namespace: env.TEMPORAL_NAMESPACE || 'default' },
    tokens: loadDevTokens(dataDir(env)),
  };
}
