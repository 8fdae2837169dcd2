// Incident intake's group state (api/incidents/state.ts) on the embedded database and on PostgreSQL:
// kept across restarts (generations included), deliveries of one group serialised across replicas by
// the row lock, and what a delivery saved kept when it fails afterwards.
import { it } from 'node:test';
import assert from 'node:assert/strict';
import { openDatabase, type Database } from '../../db/index.ts';
import { GroupStateStore } from '../../api/incidents/state.ts';
import { onBothBackends, type Backend } from '../support/databases.ts';

async function twoReplicas(backend: Backend): Promise<[Database, Database, () => Promise<void>]> {
  const opts = await backend.fresh();
  const a = await openDatabase(opts);
  const b = backend.kind === 'postgres' ? await openDatabase(opts) : a;
  return [a, b, async () => void (await Promise.all([...new Set([a, b])].map((d) => d.close())))];
}

onBothBackends('incident group state', (backend) => {
  it('starts empty, and keeps what was saved (generation, alerts, resolvedSentTo) across a restart', async () => {
    const opts = await backend.fresh();
    const first = await openDatabase(opts);
    const store = new GroupStateStore(first.db);
    const empty = await store.exclusive('incident-g1', 'group-1', (g) => g.load());
    assert.deepEqual([empty.groupKey, empty.workflowId, empty.alerts, empty.generation], ['group-1', 'incident-g1', {}, undefined]);
    await store.exclusive('incident-g1', 'group-1', async (g) => {
      const s = await g.load();
      s.generation = 2;
      s.resolvedSentTo = 'run-b';
      s.alerts.fp1 = { status: 'firing', startsAt: '2026-01-01T00:00:00Z', seenAt: '2026-01-01T00:00:01Z', runId: 'run-c' };
      await g.save(s);
    });
    await first.close();
    const restarted = await openDatabase(opts);
    try {
      const s = await new GroupStateStore(restarted.db).exclusive('incident-g1', 'group-1', (g) => g.load());
      assert.deepEqual([s.generation, s.resolvedSentTo, s.alerts.fp1?.runId], [2, 'run-b', 'run-c']);
    } finally {
      await restarted.close();
    }
  });

  it('deliveries of one group on two replicas run one at a time: no update is lost', async () => {
    const [a, b, close] = await twoReplicas(backend);
    try {
      const stores = [new GroupStateStore(a.db), new GroupStateStore(b.db)];
      let inside = 0;
      let most = 0;
      await Promise.all(
        Array.from({ length: 12 }, (_, i) =>
          stores[i % 2]!.exclusive('incident-race', 'race', async (g) => {
            inside++;
            most = Math.max(most, inside);
            const s = await g.load();
            await new Promise((r) => setImmediate(r)); // give the other replica every chance to interleave
            s.generation = (s.generation ?? 0) + 1;
            await g.save(s);
            inside--;
          }),
        ),
      );
      assert.equal(most, 1, 'never two deliveries of the group at once');
      assert.equal((await stores[0]!.exclusive('incident-race', 'race', (g) => g.load())).generation, 12);
    } finally {
      await close();
    }
  });

  it('what a delivery saved before failing is kept; the failure reaches the caller', async () => {
    const db = await openDatabase(await backend.fresh());
    try {
      const store = new GroupStateStore(db.db);
      await assert.rejects(
        store.exclusive('incident-fail', 'fail', async (g) => {
          const s = await g.load();
          s.generation = 1;
          await g.save(s);
          throw new Error('Temporal is down');
        }),
        /Temporal is down/,
      );
      assert.equal((await store.exclusive('incident-fail', 'fail', (g) => g.load())).generation, 1);
    } finally {
      await db.close();
    }
  });
});
