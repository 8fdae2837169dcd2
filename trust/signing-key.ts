// The platform's signing key: one secret shared by the API (which signs approval assertions, run
// tickets and codec sessions, and verifies links) and the worker (which mints approval links and
// verifies assertions and tickets before a run may act). CEDILLE_LINK_SECRET, else the file named by
// CEDILLE_LINK_SECRET_FILE, else `<data dir>/link-secret` (the embedded default writes it).
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { dataDir } from '../infra/tools/paths.ts';

/** Short secrets make every signature guessable offline; refuse them where the key is read. */
export const MIN_SIGNING_KEY_BYTES = 32;

export function signingKeyFromEnv(env: NodeJS.ProcessEnv = process.env): string | undefined {
  if (env.CEDILLE_LINK_SECRET) return env.CEDILLE_LINK_SECRET;
  const file = env.CEDILLE_LINK_SECRET_FILE || join(dataDir(env), 'link-secret');
  try {
    return readFileSync(file, 'utf8').trim() || undefined;
  } catch {
    return undefined;
  }
}
