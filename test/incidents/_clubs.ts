// A club registry for the incident tests (CEDILLE_CLUBS_CONFIG), in a temp dir removed at the end.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after } from 'node:test';
import { stringify } from 'yaml';
import type { z } from 'zod';
import type { ClubsConfig } from '../../activities/incidents/_clubs.ts';

/** Writes the registry and points CEDILLE_CLUBS_CONFIG at it; returns the file path. */
export function useClubsConfig(config: z.input<typeof ClubsConfig>): string {
  const dir = mkdtempSync(join(tmpdir(), 'incident-clubs-'));
  const file = join(dir, 'clubs.yaml');
  writeFileSync(file, stringify(config));
  process.env.CEDILLE_CLUBS_CONFIG = file;
  after(() => rmSync(dir, { recursive: true, force: true }));
  return file;
}
