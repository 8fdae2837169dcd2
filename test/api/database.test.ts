// The API's database (db/): migrations run at open, once, and two replicas opening a new
// PostgreSQL database at the same instant both start (Kysely's migration lock), with each migration
// applied once.
import { it } from 'node:test';
import assert from 'node:assert/strict';
import { sql } from 'kysely';
import { openDatabase } from '../../db/index.ts';
import { migrations } from '../../db/migrations/index.ts';
import { onBothBackends } from '../support/databases.ts';

const applied = async (db: Awaited<ReturnType<typeof openDatabase>>) =>
  (await sql<{ name: string }>`select name from kysely_migration order by name`.execute(db.db)).rows.map((r) => r.name);

onBothBackends('API database', (backend) => {
  it('applies every migration at open and none again on reopen', async () => {
    const opts = await backend.fresh();
    const first = await openDatabase(opts);
    assert.equal(first.kind, backend.kind);
    assert.deepEqual(await applied(first), Object.keys(migrations));
    await first.close();
    const second = await openDatabase(opts);
    try {
      assert.deepEqual(await applied(second), Object.keys(migrations));
    } finally {
      await second.close();
    }
  });

  if (backend.kind === 'postgres') {
    it('two replicas migrating one new database at once both start, each migration applied once', async () => {
      const opts = await backend.fresh();
      const replicas = await Promise.all([openDatabase(opts), openDatabase(opts), openDatabase(opts)]);
      try {
        for (const r of replicas) assert.deepEqual(await applied(r), Object.keys(migrations));
      } finally {
        await Promise.all(replicas.map((r) => r.close()));
      }
    });
  }
});
