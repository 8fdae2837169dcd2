// Approval-link nonces: a row is inserted `claimed` by the replica answering the link (the primary key
// makes the claim atomic across replicas) and becomes `used` once the workflow took the answer.
import { sql, type Kysely } from 'kysely';

export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema
    .createTable('used_links')
    .addColumn('nonce', 'text', (c) => c.primaryKey())
    .addColumn('state', 'text', (c) => c.notNull().check(sql`state in ('claimed', 'used')`))
    .addColumn('claim_id', 'text')
    .addColumn('claimed_at', 'timestamptz', (c) => c.notNull())
    .addColumn('used_at', 'timestamptz')
    .addColumn('by', 'text')
    .addColumn('by_name', 'text')
    .addColumn('decision', 'text')
    .addColumn('workflow_id', 'text')
    .addColumn('step_id', 'text')
    .execute();
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await db.schema.dropTable('used_links').execute();
}
