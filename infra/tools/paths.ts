// Where built and downloaded tools are cached: outside the repository, shared between checkouts.
import { homedir } from 'node:os';
import { join } from 'node:path';

export function cacheDir(env = process.env): string {
  return env.CEDILLE_CACHE_DIR ?? join(env.XDG_CACHE_HOME ?? join(homedir(), '.cache'), 'cedille-workflows');
}

export function toolsDir(env = process.env): string {
  return join(cacheDir(env), 'tools');
}
