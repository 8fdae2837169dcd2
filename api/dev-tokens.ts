// Static bearer tokens of the embedded default, one admin and one approver: random per data dir,
// kept in `<data dir>/dev-tokens.json` (mode 0600) so they survive restarts. api/config.ts decides
// whether they are accepted (loopback listener, or CEDILLE_DEV_TOKENS=1).
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { z } from 'zod';
import type { StaticToken } from './auth/static-tokens.ts';
import { writeFileAtomic } from '../infra/tools/atomic-file.ts';

const DevTokens = z.object({ admin: z.string().min(32), approver: z.string().min(32) });
export type DevTokens = z.infer<typeof DevTokens>;

export function devTokensFile(dataDir: string): string {
  return join(dataDir, 'dev-tokens.json');
}

/** The dev tokens as identities: an admin (no approver group, so four-eyes shows) and an approver of every group. */
export function devIdentities(tokens: DevTokens): StaticToken[] {
  return [
    { token: tokens.admin, subject: 'dev-admin', name: 'Dev admin', roles: ['admin'], groups: [] },
    { token: tokens.approver, subject: 'dev-approver', name: 'Dev approver', roles: ['operator'], groups: ['ets-it', 'sre', 'admins'] },
  ];
}

function read(file: string): DevTokens | undefined {
  try {
    return DevTokens.parse(JSON.parse(readFileSync(file, 'utf8')));
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw new Error(`${file}: ${(err as Error).message}`, { cause: err });
  }
}

/** Reads the data dir's tokens, creating them on first use (whole or not at all: a crash never leaves half a file). */
export function loadDevTokens(dataDir: string): DevTokens {
  const file = devTokensFile(dataDir);
  const existing = read(file);
  if (existing) return existing;
  // A recognisable prefix lets secret scanners spot a leaked token.
  const tokens = {
    admin: `cedille_admin_${randomBytes(24).toString('base64url')}`,
    approver: `cedille_approver_${randomBytes(24).toString('base64url')}`,
  };
  try {
    writeFileAtomic(file, `${JSON.stringify(tokens, null, 2)}\n`, { exclusive: true });
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
    return read(file)!; // another process created them first: theirs stand
  }
  return tokens;
}

/**
 * A CEDILLE_API_TOKENS_FILE for a deployment that listens beyond loopback (docker compose): the dev
 * identities with fresh tokens, created once (mode 0600) and read back afterwards.
 */
export function ensureStaticTokensFile(path: string): StaticToken[] {
  const tokens = { admin: `cedille_admin_${randomBytes(24).toString('base64url')}`, approver: `cedille_approver_${randomBytes(24).toString('base64url')}` };
  try {
    writeFileAtomic(path, `${JSON.stringify(devIdentities(tokens), null, 2)}\n`, { exclusive: true });
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
  }
  return JSON.parse(readFileSync(path, 'utf8')) as StaticToken[];
}
