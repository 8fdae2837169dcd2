// The audit trail survives restarts (it is a table of the API's database) and filters by actor,
// action, target and time, newest first, in SQL; on the embedded database and on PostgreSQL.
import { describe, it } from 'node:test';
import { readFileSync } from 'node:fs';
import assert from 'node:assert/strict';
import { AuditLog } from '../../api/audit/log.ts';
import { openDatabase } from '../../db/index.ts';
import { onBothBackends } from '../support/databases.ts';
import { buildApi } from '../../api/app.ts';
import { apiTestEnv } from '../support/api.ts';

onBothBackends('audit log', (backend) => {
  it('keeps entries across restarts and filters them', async () => {
    const opts = await backend.fresh();
    const first = await openDatabase(opts);
    const log = new AuditLog(first.db);
    await log.record({ actor: 'ada', action: 'run.start', target: 'onboarding-1', details: { definition: 'onboarding' } });
    await log.record({ actor: 'edith', action: 'approval.approve', target: 'onboarding-1', details: { stepId: 'ets', comment: 'ok' } });
    await log.record({ actor: 'ada', action: 'run.cancel', target: 'backup-7' });
    await first.close();

    const restarted = await openDatabase(opts);
    try {
      const again = new AuditLog(restarted.db);
      const all = await again.query({ limit: 100 });
      assert.deepEqual(all.map((e) => e.action), ['run.cancel', 'approval.approve', 'run.start']);
      assert.equal(all[0]?.details, undefined, 'no details: none read back');
      assert.deepEqual((await again.query({ actor: 'ada', limit: 100 })).map((e) => e.target), ['backup-7', 'onboarding-1']);
      assert.deepEqual((await again.query({ target: 'onboarding-1', action: 'approval.approve', limit: 100 }))[0]?.details, { stepId: 'ets', comment: 'ok' });
      assert.equal((await again.query({ limit: 1 })).length, 1);
      assert.equal((await again.query({ since: new Date(Date.now() + 60_000).toISOString(), limit: 100 })).length, 0);
      assert.equal((await again.query({ until: new Date(Date.now() - 60_000).toISOString(), limit: 100 })).length, 0);
      assert.equal((await again.query({ since: new Date(Date.now() - 60_000).toISOString(), limit: 100 })).length, 3);
    } finally {
      await restarted.close();
    }
  });

  it('records values holding NUL characters (a fuzzed incident title failed the write with a 500), each NUL as U+FFFD', async () => {
    const db = await openDatabase(await backend.fresh());
    try {
      const log = new AuditLog(db.db);
      await log.record({ actor: 'a\u0000b', action: 'incident.declare', target: 'inc\u0000-1', details: { title: 'M\u0000x', labels: { 'k\u0000': 'v\u0000' } } }, { once: 'o\u0000' });
      const [entry] = await log.query({ limit: 1 });
      assert.deepEqual(entry && { ...entry, at: undefined }, { at: undefined, actor: 'a\uFFFDb', action: 'incident.declare', target: 'inc\uFFFD-1', details: { title: 'M\uFFFDx', labels: { 'k\uFFFD': 'v\uFFFD' } } });
    } finally {
      await db.close();
    }
  });

  it('returns the newest entries first when more match than the limit, entries of the same instant by insertion', async () => {
    const db = await openDatabase(await backend.fresh());
    try {
      const log = new AuditLog(db.db);
      for (let i = 0; i < 30; i++) await log.record({ actor: i % 2 ? 'odd' : 'even', action: 'run.start', target: `run-${i}` });
      assert.deepEqual((await log.query({ actor: 'odd', limit: 3 })).map((e) => e.target), ['run-29', 'run-27', 'run-25']);
      assert.deepEqual((await log.query({ limit: 2 })).map((e) => e.target), ['run-29', 'run-28']);
    } finally {
      await db.close();
    }
  });
});

describe('audit trail through the API', () => {
  it('an API restarted on its data dir still lists what was audited before', async () => {
    const env = await apiTestEnv({ worker: false });
    const source = readFileSync(new URL('../fixtures/definitions/api-defs-tick.yaml', import.meta.url), 'utf8').replace('name: api-defs-tick', 'name: audit-restart');
    const reg = await env.as('admin', { method: 'POST', url: '/v1/definitions', headers: { 'content-type': 'application/yaml' }, payload: source });
    assert.equal(reg.statusCode, 201, reg.body);
    await env.app.close();
    await env.database.close();
    const restarted = await buildApi({ config: env.config });
    try {
      const res = await restarted.inject({ method: 'GET', url: '/v1/audit?action=definition.register', headers: { authorization: `Bearer ${env.tokens.admin}` } });
      assert.equal(res.statusCode, 200, res.body);
      assert.deepEqual(res.json().entries.map((e: { actor: string; target: string }) => [e.actor, e.target]), [['alice-admin', 'audit-restart']]);
    } finally {
      await restarted.close();
      await env.temporal.close();
    }
  });
});
