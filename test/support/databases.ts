// Runs a suite on both backends of the platform database (db/): the embedded PGlite and a real
// PostgreSQL (the run's, test/support/postgres.ts). `fresh()` names an empty database; opening
// the same options again is the API restarting on it.
import { describe } from 'node:test';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { DatabaseOptions } from '../../db/index.ts';
import { testDatabase } from './postgres.ts';

export type BackendKind = 'embedded' | 'postgres';

export interface Backend {
  kind: BackendKind;
  /** Options of a new, empty database. */
  fresh(): Promise<DatabaseOptions>;
}

export function onBothBackends(title: string, suite: (backend: Backend) => void): void {
  for (const kind of ['embedded', 'postgres'] as const) {
    describe(`${title} (${kind})`, () => {
      suite({
        kind,
        async fresh() {
          const dataDir = mkdtempSync(join(tmpdir(), 'cedille-db-'));
          return kind === 'embedded' ? { dataDir } : { dataDir, url: await testDatabase('api') };
        },
      });
    });
  }
}
