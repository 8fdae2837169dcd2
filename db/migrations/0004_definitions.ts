// Registered definitions (workflows/registry/): one row per version, named by its content hash. The
// API writes them, every worker reads them. `seq` orders registrations: registering a version again
// takes a new number (it becomes the latest of its name), so readers replay rows by `seq`.
import { sql, type Kysely } from 'kysely';

export async function up(db: Kysely<unknown>): Promise<void> {
  await sql`CREATE SEQUENCE definition_registrations`.execute(db);
  await db.schema
    .createTable('definitions')
    .addColumn('hash', 'text', (c) => c.primaryKey())
    .addColumn('name', 'text', (c) => c.notNull())
    .addColumn('source', 'text', (c) => c.notNull())
    .addColumn('seq', 'bigint', (c) => c.notNull().unique().defaultTo(sql`nextval('definition_registrations')`))
    .addColumn('registered_at', 'timestamptz', (c) => c.notNull())
    .execute();
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await db.schema.dropTable('definitions').execute();
  await sql`DROP SEQUENCE definition_registrations`.execute(db);
}
