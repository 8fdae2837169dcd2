// The nightly backup as admins schedule it: a Temporal Schedule created through the API (cron in
// America/Toronto, overlap skip, a catch-up window), triggered, running the pinned built-in definition
// to the end on the local cluster, GCS and Vault.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { apiTestEnv, type ApiTestEnv } from '../support/api.ts';
import { eventually } from '../support/temporal.ts';
import { backupHarness, noLeftovers, type BackupHarness } from './_workflow-support.ts';

describe('scheduled nightly backup', () => {
  let h: BackupHarness;
  let api: ApiTestEnv;
  const id = `nightly-backup-${randomUUID().slice(0, 8)}`;
  before(async () => {
    h = await backupHarness({ worker: false });
    api = await apiTestEnv();
  });
  after(async () => {
    await api?.temporal.client.schedule.getHandle(id).delete().catch(() => undefined);
    await api?.close();
    await h?.close();
  });

  it('created from the API with cron, time zone, overlap and catch-up window; a triggered run backs up', { timeout: 180_000 }, async () => {
    const ns = await h.namespace('bk-sched');
    await h.volume(ns, 'data', { 'hello.txt': 'bonjour\n' });
    const created = await api.as('admin', {
      method: 'POST',
      url: '/v1/schedules',
      payload: { id, definition: 'backup-nightly', input: h.nightlyInput([ns]), cron: '30 2 * * *', timezone: 'America/Toronto', overlap: 'skip', catchupWindow: '6h', note: 'nightly backups' },
    });
    assert.equal(created.statusCode, 201, created.body);
    const schedule = created.json().schedule as { timezone: string; overlap: string; catchupWindow: string; nextActionTimes: string[] };
    assert.deepEqual([schedule.timezone, schedule.overlap, schedule.catchupWindow], ['America/Toronto', 'skip', '6h']);
    // 02:30 in Montréal is 06:30 or 07:30 UTC depending on daylight saving time.
    assert.ok(schedule.nextActionTimes.length > 0 && schedule.nextActionTimes.every((t) => /T0[67]:30:00/.test(t)), schedule.nextActionTimes.join(' '));

    assert.equal((await api.as('admin', { method: 'POST', url: `/v1/schedules/${id}/trigger`, payload: { note: 'test' } })).statusCode, 200);
    const run = await eventually(async () => {
      for await (const wf of api.temporal.client.workflow.list({ query: `CedilleDefinition = 'backup-nightly'` })) if (wf.workflowId.startsWith(`${id}-`)) return wf;
      return undefined;
    }, 30_000, 'the triggered run');
    const report = (await api.temporal.client.workflow.getHandle(run.workflowId).result()) as { succeeded: number; text: string };
    assert.equal(report.succeeded, 1, report.text);
    await noLeftovers(h, [ns]);
  });
});
