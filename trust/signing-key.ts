// The platform's signing key: one secret shared by the API (which signs approval assertions, run
// tickets, page tokens and codec sessions, and verifies links) and the worker (which mints approval
// links and verifies assertions and tickets before a run may act). CEDILLE_LINK_SECRET, else the
// file named by CEDILLE_LINK_SECRET_FILE (a mounted Secret in deployments), else
// `<data dir>/link-secret` (the embedded default's API writes it). At least 32 bytes, whichever.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { dataDir } from '../infra/tools/paths.ts';
import { strongSecret } from '../api/links/secret.ts';

function readKeyFile(file: string, source: string, optional: boolean): string | undefined {
  let text: string;
  try {
    text = readFileSync(file, 'utf8').trim();
  } catch (err) {
    if (optional && (err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw err;
  }
  return text ? strongSecret(text, source) : undefined;
}

export function signingKeyFromEnv(env: NodeJS.ProcessEnv = process.env): string | undefined {
  if (env.CEDILLE_LINK_SECRET) return strongSecret(env.CEDILLE_LINK_SECRET, 'CEDILLE_LINK_SECRET');
  if (env.CEDILLE_LINK_SECRET_FILE) return readKeyFile(env.CEDILLE_LINK_SECRET_FILE, `CEDILLE_LINK_SECRET_FILE ${env.CEDILLE_LINK_SECRET_FILE}`, false);
  const file = join(dataDir(env), 'link-secret');
  return readKeyFile(file, `link secret file ${file}`, true);
}
