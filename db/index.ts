// The platform's durable state (the API's audit trail, links, incident groups; the registered
// definitions the API writes and the workers read): PostgreSQL when DATABASE_URL is set (production:
// its own database beside Temporal's), otherwise an in-process PostgreSQL (PGlite) persisted under `<data dir>/db` for
// `npm start` and tests. One schema and one query layer (Kysely) for both; migrations run at open,
// under Kysely's migration lock (a PostgreSQL advisory lock), so replicas starting together are safe.
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { Kysely, Migrator, PostgresDialect, type Dialect } from 'kysely';
import { PGlite } from '@electric-sql/pglite';
import { PGliteDialect } from 'kysely-pglite-dialect';
import pg from 'pg';
import { migrations } from './migrations/index.ts';
import type { Tables } from './schema.ts';

export type Db = Kysely<Tables>;

export interface DatabaseOptions {
  /** postgres:// URL; unset: the embedded database under `dataDir`. */
  url?: string;
  dataDir: string;
  /** Pool size of a PostgreSQL connection (default 10). */
  maxConnections?: number;
}

export interface Database {
  db: Db;
  /** `postgres` (DATABASE_URL) or `embedded` (PGlite). */
  kind: 'postgres' | 'embedded';
  close(): Promise<void>;
}

/** The directory of the embedded database in a data dir. */
const embeddedDir = (dataDir: string) => join(dataDir, 'db');

async function dialect(opts: DatabaseOptions): Promise<Dialect> {
  if (opts.url) {
    const pool = new pg.Pool({ connectionString: opts.url, max: opts.maxConnections ?? 10 });
    // An idle connection the server dropped (restart, crash, failover) is reported here and left out of the
    // pool; without a listener node-postgres rethrows it, which ends the process.
    pool.on('error', (err) => console.warn(`platform database: dropped an idle connection: ${err.message}`));
    return new PostgresDialect({ pool });
  }
  const dir = embeddedDir(opts.dataDir);
  mkdirSync(dir, { recursive: true });
  return new PGliteDialect(await PGlite.create(dir));
}

/** Brings the schema to the latest migration; throws (naming the migration) when one fails. */
export async function migrate(db: Kysely<unknown>): Promise<string[]> {
  const migrator = new Migrator({ db, provider: { getMigrations: async () => migrations } });
  const { error, results = [] } = await migrator.migrateToLatest();
  const failed = results.find((r) => r.status === 'Error');
  if (error) throw new Error(`database migration ${failed?.migrationName ?? ''} failed: ${String(error instanceof Error ? error.message : error)}`, { cause: error });
  return results.filter((r) => r.status === 'Success').map((r) => r.migrationName);
}

export async function openDatabase(opts: DatabaseOptions): Promise<Database> {
  const db = new Kysely<Tables>({ dialect: await dialect(opts) });
  try {
    await migrate(db as unknown as Kysely<unknown>);
  } catch (err) {
    await db.destroy();
    throw err;
  }
  return { db, kind: opts.url ? 'postgres' : 'embedded', close: () => db.destroy() };
}
