// Static bearer tokens of the embedded default, one admin and one approver: random per data dir,
// kept in `<data dir>/dev-tokens.json` (mode 0600) so they survive restarts.
import { randomBytes } from 'node:crypto';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { z } from 'zod';

const DevTokens = z.object({ admin: z.string().min(32), approver: z.string().min(32) });
export type DevTokens = z.infer<typeof DevTokens>;

export function devTokensFile(dataDir: string): string {
  return join(dataDir, 'dev-tokens.json');
}

/** Reads the data dir's tokens, creating them on first use. */
export function loadDevTokens(dataDir: string): DevTokens {
  const file = devTokensFile(dataDir);
  try {
    return DevTokens.parse(JSON.parse(readFileSync(file, 'utf8')));
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw new Error(`${file}: ${(err as Error).message}`, { cause: err });
  }
  // A recognisable prefix lets secret scanners spot a leaked token.
  const tokens = {
    admin: `cedille_admin_${randomBytes(24).toString('base64url')}`,
    approver: `cedille_approver_${randomBytes(24).toString('base64url')}`,
  };
  mkdirSync(dataDir, { recursive: true });
  writeFileSync(file, `${JSON.stringify(tokens, null, 2)}\n`, { mode: 0o600 });
  return tokens;
}
