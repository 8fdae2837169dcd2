// The bootstrap survives its worker process being SIGKILLed (no graceful shutdown, in-flight
// attempts lost, retried after their 20 s heartbeat timeout) right after the TLS step, after init
// and after configure: a new worker process each time finishes the run, with exactly one init. (Every step's
// crash-after-side-effects is resume.test.ts.)
import { after, before, describe, it } from 'node:test';
import { temporalTestEnv, eventually, type TemporalTestEnv } from '../support/temporal.ts';
import { spawnWorker, type WorkerProcess } from '../support/spawn-worker.ts';
import type { KmsPeer } from './_kms-peer.ts';
import { assertBootstrapped, cleanupSettings, newSetting, resultWithin, startBootstrap, type BootstrapOutput, startSealKms } from './_bootstrap.ts';

describe('vault-bootstrap: worker SIGKILLed', { concurrency: false }, () => {
  let env: TemporalTestEnv;
  let peer: KmsPeer;
  const workers: WorkerProcess[] = [];

  before(async () => {
    env = await temporalTestEnv();
    peer = await startSealKms();
  });
  after(async () => {
    for (const w of workers) await w.kill();
    await cleanupSettings();
    await env?.close();
    await peer?.close();
  });

  it('after the TLS step, after init and after configure: new workers finish the run, one init', { timeout: 180_000 }, async (t) => {
    const setting = await newSetting(peer, 'vault-kill');
    // The seal identity's credential file (GOOGLE_APPLICATION_CREDENTIALS) newSetting chose goes to the workers.
    const workerEnv = { ...process.env };
    const spawn = async () => {
      const w = await spawnWorker(env.taskQueue, workerEnv, '--no-cache');
      workers.push(w);
      return w;
    };
    let worker = await spawn();
    const deployment = setting.deploy();
    const t0 = Date.now();
    const handle = await startBootstrap(env.client, env.taskQueue, setting.input());
    const completed = async (activityType: string) => {
      const events = (await handle.fetchHistory()).events ?? [];
      const ids = new Set(events.filter((e) => e.activityTaskScheduledEventAttributes?.activityType?.name === activityType).map((e) => String(e.eventId)));
      return events.some((e) => e.activityTaskCompletedEventAttributes && ids.has(String(e.activityTaskCompletedEventAttributes.scheduledEventId))) ? true : undefined;
    };
    for (const step of ['tls.ensureCertificates', 'vault.init', 'vault.configure']) {
      await eventually(() => completed(step), 90_000, `${step} completed`);
      await worker.kill();
      t.diagnostic(`worker killed after ${step} at ${Date.now() - t0} ms`);
      worker = await spawn();
    }
    const out = (await resultWithin(handle, 90_000, () => `${deployment.output()}\n${worker.output()}`)) as BootstrapOutput;
    t.diagnostic(`run done in ${Date.now() - t0} ms`);
    await assertBootstrapped(env.client, peer, setting, out, handle);
  });
});
