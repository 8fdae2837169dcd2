// Incident intake's memory of each alert group (api/incidents/state.ts): one row per group, locked
// with SELECT ... FOR UPDATE while a delivery of that group is decided.
import type { Kysely } from 'kysely';

export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema
    .createTable('incident_groups')
    .addColumn('workflow_id', 'text', (c) => c.primaryKey())
    .addColumn('group_key', 'text', (c) => c.notNull())
    .addColumn('state', 'jsonb', (c) => c.notNull())
    .addColumn('updated_at', 'timestamptz', (c) => c.notNull())
    .execute();
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await db.schema.dropTable('incident_groups').execute();
}
