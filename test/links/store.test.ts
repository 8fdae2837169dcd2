// The used-link store (api/links/store.ts) on the embedded database and on PostgreSQL: one claim per
// nonce across replicas, released on refusal, used links kept across restarts, and a claim left by a
// replica that died mid-answer expiring instead of locking the link forever.
import { it } from 'node:test';
import assert from 'node:assert/strict';
import { sql } from 'kysely';
import { openDatabase, type Database } from '../../db/index.ts';
import { CLAIM_TTL_MS, UsedLinkStore } from '../../api/links/store.ts';
import { onBothBackends, type Backend } from '../support/databases.ts';

/** Two replicas on one database: their own connections on PostgreSQL; the one in-process database when embedded. */
async function twoReplicas(backend: Backend): Promise<[Database, Database, () => Promise<void>]> {
  const opts = await backend.fresh();
  const a = await openDatabase(opts);
  const b = backend.kind === 'postgres' ? await openDatabase(opts) : a;
  return [a, b, async () => void (await Promise.all([...new Set([a, b])].map((d) => d.close())))];
}

onBothBackends('used-link store', (backend) => {
  it('claims once, releases on refusal, keeps uses across restarts', async () => {
    const opts = await backend.fresh();
    const first = await openDatabase(opts);
    const a = new UsedLinkStore(first.db);
    const c1 = await a.claim('n1');
    assert.ok(c1);
    assert.equal(await a.claim('n1'), undefined, 'in flight');
    await a.release(c1);
    const c2 = await a.claim('n1');
    assert.ok(c2, 'released: usable again');
    await a.markUsed({ nonce: 'n1', by: 'edith', byName: 'Édith', decision: 'approve', workflowId: 'wf', stepId: 's' });
    assert.equal(await a.claim('n1'), undefined, 'used');
    await a.release(c2);
    assert.equal(await a.claim('n1'), undefined, 'a release after use changes nothing');
    assert.equal((await a.get('n1'))?.by, 'edith');
    assert.equal(await a.get('n2'), undefined);
    await a.markUsed({ nonce: 'n3', by: 'grace', decision: 'reject', workflowId: 'wf', stepId: 's' });
    await first.close();

    const restarted = await openDatabase(opts);
    try {
      const b = new UsedLinkStore(restarted.db);
      assert.equal(await b.claim('n1'), undefined, 'still used after a restart');
      const n1 = await b.get('n1');
      assert.deepEqual([n1?.by, n1?.byName, n1?.decision, n1?.workflowId, n1?.stepId], ['edith', 'Édith', 'approve', 'wf', 's']);
      assert.deepEqual([(await b.get('n3'))?.by, (await b.get('n3'))?.byName], ['grace', undefined]);
    } finally {
      await restarted.close();
    }
  });

  it('two replicas claiming the same links at once: exactly one claim each', async () => {
    const [a, b, close] = await twoReplicas(backend);
    try {
      const stores = [new UsedLinkStore(a.db), new UsedLinkStore(b.db)];
      for (let i = 0; i < 20; i++) {
        const claims = await Promise.all([0, 1, 0, 1].map((r) => stores[r]!.claim(`race-${i}`)));
        assert.equal(claims.filter(Boolean).length, 1, `race-${i}: ${JSON.stringify(claims)}`);
      }
    } finally {
      await close();
    }
  });

  it("a dead replica's claim expires; its late release does not drop the new claim; a used link is never reclaimed", async () => {
    const [a, b, close] = await twoReplicas(backend);
    try {
      const dead = new UsedLinkStore(a.db);
      const alive = new UsedLinkStore(b.db);
      const lost = await dead.claim('crash');
      assert.ok(lost);
      assert.equal(await alive.claim('crash'), undefined, 'a fresh claim holds');
      // The replica died CLAIM_TTL_MS + 1 s ago, mid-answer.
      const age = (nonce: string) => sql`update used_links set claimed_at = now() - ${`${CLAIM_TTL_MS + 1000} milliseconds`}::interval where nonce = ${nonce}`.execute(b.db);
      await age('crash');
      const taken = await alive.claim('crash');
      assert.ok(taken, 'the expired claim is taken over');
      await dead.release(lost);
      assert.equal(await alive.claim('crash'), undefined, "the late release left the new claim alone");
      await alive.markUsed({ nonce: 'crash', by: 'ada', decision: 'approve', workflowId: 'wf', stepId: 's' });
      await age('crash');
      assert.equal(await dead.claim('crash'), undefined, 'used, however old');
      assert.equal((await dead.get('crash'))?.by, 'ada');
    } finally {
      await close();
    }
  });
});
