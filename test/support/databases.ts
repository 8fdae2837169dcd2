// Runs a suite on both backends of the API's database (api/db/): the embedded PGlite and a real
// PostgreSQL (a throwaway cluster started for the suite). `fresh()` names an empty database; opening
// the same options again is the API restarting on it.
import { after, before, describe } from 'node:test';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import type { DatabaseOptions } from '../../api/db/index.ts';
import { startPostgresCluster, type PostgresCluster } from './postgres-cluster.ts';

export type BackendKind = 'embedded' | 'postgres';

export interface Backend {
  kind: BackendKind;
  /** Options of a new, empty database. */
  fresh(): Promise<DatabaseOptions>;
}

export function onBothBackends(title: string, suite: (backend: Backend) => void): void {
  for (const kind of ['embedded', 'postgres'] as const) {
    describe(`${title} (${kind})`, () => {
      let cluster: PostgresCluster | undefined;
      if (kind === 'postgres') {
        before(async () => {
          cluster = await startPostgresCluster();
        });
        after(() => cluster?.stop());
      }
      suite({
        kind,
        async fresh() {
          const dataDir = mkdtempSync(join(tmpdir(), 'cedille-db-'));
          if (!cluster) return { dataDir };
          return { dataDir, url: await cluster.createDatabase(`api_${randomBytes(6).toString('hex')}`) };
        },
      });
    });
  }
}
