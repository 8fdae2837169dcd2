// An audit entry may name the action it records once (`once_key`, unique): a request retried after the
// replica that served it died (the action done, the entry not yet written) records it then, and a
// retry of a request already recorded adds nothing.
import type { Kysely } from 'kysely';

export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema.alterTable('audit_entries').addColumn('once_key', 'text', (c) => c.unique()).execute();
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await db.schema.alterTable('audit_entries').dropColumn('once_key').execute();
}
