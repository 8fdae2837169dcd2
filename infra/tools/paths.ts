// Where built and downloaded tools are cached (outside the repository, shared between checkouts),
// and where the embedded default keeps its state (inside it, git-ignored).
import { homedir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const repoRoot = fileURLToPath(new URL('../..', import.meta.url));

export function cacheDir(env = process.env): string {
  return env.CEDILLE_CACHE_DIR ?? join(env.XDG_CACHE_HOME ?? join(homedir(), '.cache'), 'cedille-workflows');
}

export function toolsDir(env = process.env): string {
  return join(cacheDir(env), 'tools');
}

/** State of the embedded default (Temporal SQLite, logs, dev tokens): $CEDILLE_DATA_DIR or `.data/`. */
export function dataDir(env = process.env): string {
  return env.CEDILLE_DATA_DIR ? resolve(env.CEDILLE_DATA_DIR) : join(repoRoot, '.data');
}
