// kill -9 the worker in the middle of a nightly backup: the run finishes on a new worker, each volume
// is uploaded by one agent Job (the running one is adopted, not duplicated), and no snapshot, temporary
// PVC or Job is left behind.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { loadCatalog } from '../../activities/catalog.ts';
import { DefinitionRegistry } from '../../workflows/registry/index.ts';
import { ticketed } from '../support/temporal.ts';
import { LABEL_BACKUP_RUN } from '../../activities/kubernetes/builders/backup.ts';
import { runFailure } from '../activities/_support.ts';
import { eventually } from '../support/cluster.ts';
import { spawnWorker, type WorkerProcess } from '../support/spawn-worker.ts';
import { randomContent } from './_agent-support.ts';
import { backupHarness, noLeftovers, type BackupHarness } from './_workflow-support.ts';

describe('nightly backup survives a worker crash', () => {
  let h: BackupHarness;
  const workers: WorkerProcess[] = [];
  before(async () => {
    h = await backupHarness({ worker: false });
  });
  after(async () => {
    for (const w of workers) await w.kill();
    await h?.close();
  });

  it('worker SIGKILLed while the agents upload: the run finishes, nothing orphaned', { timeout: 240_000 }, async () => {
    const ns = await h.namespace('bk-kill');
    await h.volume(ns, 'one', { 'blob': randomContent(6 * 1024 * 1024) });
    await h.volume(ns, 'two', { 'blob': randomContent(6 * 1024 * 1024) });
    const registry = await DefinitionRegistry.load({ catalog: await loadCatalog() });
    const definition = registry.get('backup-nightly')!;
    workers.push(await spawnWorker(h.env.taskQueue, { ...process.env }, '--no-cache'));
    const workflowId = `nightly-kill-${randomUUID()}`;
    const handle = await h.env.client.workflow.start('interpret', {
      taskQueue: h.env.taskQueue,
      workflowId,
      args: [ticketed(workflowId, { definition, input: h.nightlyInput([ns]) })],
      workflowTaskTimeout: '3s',
    });
    await eventually('an upload Job running', async () => {
      const jobs = await h.client.list('batch/v1', 'Job', { namespace: ns, labelSelector: LABEL_BACKUP_RUN });
      return jobs.items.length > 0 ? true : undefined;
    }, 120_000);
    await workers[0]!.kill();
    const killedAt = Date.now();
    workers.push(await spawnWorker(h.env.taskQueue, { ...process.env }, '--no-cache'));
    const report = (await handle.result().catch(async (err) => {
      throw new Error(`${(await runFailure(handle)).text}\n${workers[1]!.output()}`, { cause: err });
    })) as { succeeded: number; text: string };
    console.log(`# nightly finished ${Date.now() - killedAt} ms after the worker was killed`);
    assert.equal(report.succeeded, 2, report.text);
    const uploads = h.sim.agentRuns.filter((r) => r.namespace === ns && r.mode === 'backup');
    assert.deepEqual(uploads.map((r) => r.exitCode), [0, 0], 'one agent run per volume: the running Jobs were adopted');
    await noLeftovers(h, [ns]);
  });
});
