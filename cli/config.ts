// Where the CLI talks to and as whom. Precedence: flags > CEDILLE_API_URL / CEDILLE_TOKEN >
// `${XDG_CONFIG_HOME:-~/.config}/cedille/config.json` ({ apiUrl, token }) > the API of the stack `npm start`
// runs from the data dir (CEDILLE_DATA_DIR or .data/, its endpoints.json: it moves off port 3000 when
// that is taken) > http://127.0.0.1:3000.
import { readFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { UsageError } from './errors.ts';
import { dataDir } from '../infra/tools/paths.ts';
import { readEndpoints } from '../infra/embedded/endpoints.ts';

export const DEFAULT_API_URL = 'http://127.0.0.1:3000';

export interface CliConfig {
  apiUrl: string;
  token?: string;
}

export function configFilePath(env: NodeJS.ProcessEnv = process.env): string {
  const base = env.XDG_CONFIG_HOME || join(env.HOME || homedir(), '.config');
  return join(base, 'cedille', 'config.json');
}

interface ConfigFile {
  apiUrl?: string;
  token?: string;
}

// Checked by hand: zod would double the CLI's start-up time.
function readConfigFile(file: string): ConfigFile {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return {};
    throw new UsageError(`${file}: ${(err as Error).message}`);
  }
  let config: unknown;
  try {
    config = JSON.parse(text);
  } catch (err) {
    throw new UsageError(`${file}: invalid config: ${(err as Error).message}`);
  }
  if (typeof config !== 'object' || config === null || Array.isArray(config)) throw new UsageError(`${file}: invalid config: expected an object { apiUrl, token }`);
  for (const key of ['apiUrl', 'token'] as const) {
    const value = (config as Record<string, unknown>)[key];
    if (value !== undefined && typeof value !== 'string') throw new UsageError(`${file}: invalid config: ${key} must be a string`);
  }
  return config as ConfigFile;
}

export function resolveConfig(flags: { apiUrl?: string; token?: string }, env: NodeJS.ProcessEnv = process.env): CliConfig {
  const file = readConfigFile(configFilePath(env));
  const apiUrl = flags.apiUrl || env.CEDILLE_API_URL || file.apiUrl || readEndpoints(dataDir(env))?.apiUrl || DEFAULT_API_URL;
  const token = flags.token || env.CEDILLE_TOKEN || file.token;
  try {
    new URL(apiUrl);
  } catch {
    throw new UsageError(`invalid API URL: ${apiUrl}`);
  }
  return { apiUrl: apiUrl.replace(/\/+$/, ''), ...(token ? { token } : {}) };
}
