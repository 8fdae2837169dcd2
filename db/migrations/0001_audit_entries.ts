// The audit trail: append-only; the route filters by actor, action, target and time, newest first.
import { sql, type Kysely } from 'kysely';

export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema
    .createTable('audit_entries')
    .addColumn('id', 'bigint', (c) => c.generatedAlwaysAsIdentity().primaryKey())
    .addColumn('at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .addColumn('actor', 'text', (c) => c.notNull())
    .addColumn('action', 'text', (c) => c.notNull())
    .addColumn('target', 'text', (c) => c.notNull())
    .addColumn('details', 'jsonb')
    .execute();
  // Newest first is (at, id) descending; each filter has an index ending with the same order.
  await db.schema.createIndex('audit_entries_at').on('audit_entries').columns(['at', 'id']).execute();
  await db.schema.createIndex('audit_entries_actor_at').on('audit_entries').columns(['actor', 'at', 'id']).execute();
  await db.schema.createIndex('audit_entries_action_at').on('audit_entries').columns(['action', 'at', 'id']).execute();
  await db.schema.createIndex('audit_entries_target_at').on('audit_entries').columns(['target', 'at', 'id']).execute();
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await db.schema.dropTable('audit_entries').execute();
}
