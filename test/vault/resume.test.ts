// The bootstrap resumes after a crash at any point, with exactly one init: every step's activity
// "crashes" once right after its side effects (a fault hook: the attempt does its work, then fails
// as if the worker died before reporting it); each retry must find what the lost attempt did and
// not do it twice. (A real SIGKILL of the worker process: kill.test.ts.)
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { ApplicationFailure } from '@temporalio/common';
import { loadCatalog, type Catalog } from '../../activities/catalog.ts';
import type { ActivityDefinition } from '../../activities/define.ts';
import { temporalTestEnv, type TemporalTestEnv } from '../support/temporal.ts';
import { NO_DEFINITIONS } from '../support/activities/index.ts';
import type { KmsPeer } from './_kms-peer.ts';
import { assertBootstrapped, cleanupSettings, newSetting, resultWithin, startBootstrap, type BootstrapOutput as Output, startSealKms } from './_bootstrap.ts';

/** The catalog with every activity of `systems` failing its first attempt after doing its work. */
function crashingOnce(catalog: Catalog, systems: string[], crashed: string[]): Catalog {
  return new Map([...catalog].map(([name, def]) => {
    if (!systems.includes(name.split('.')[0]!)) return [name, def];
    const wrapped: ActivityDefinition = {
      ...def,
      async handler(input, ctx) {
        const out = await def.handler(input, ctx);
        if (ctx.attempt === 1) {
          crashed.push(name);
          throw ApplicationFailure.create({ message: `injected crash after ${name} did its work`, type: 'InjectedCrash', nonRetryable: false });
        }
        return out;
      },
    };
    return [name, wrapped];
  }));
}

describe('vault-bootstrap resumes after crashes', { concurrency: false }, () => {
  let env: TemporalTestEnv;
  let peer: KmsPeer;

  before(async () => {
    env = await temporalTestEnv();
    peer = await startSealKms();
  });
  after(async () => {
    await cleanupSettings();
    await env?.close();
    await peer?.close();
  });

  it('every step crashes once after its side effects: the run completes with one init', { timeout: 120_000 }, async (t) => {
    const setting = await newSetting(peer, 'vault-crash');
    const crashed: string[] = [];
    await env.startWorker({ registry: NO_DEFINITIONS, catalog: crashingOnce(await loadCatalog(), ['gcpkms', 'tls', 'vault', 'git', 'kubernetes'], crashed) });
    const deployment = setting.deploy();
    const t0 = Date.now();
    const handle = await startBootstrap(env.client, env.taskQueue, setting.input());
    const out = (await resultWithin(handle, 100_000, () => deployment.output())) as Output;
    t.diagnostic(`${crashed.length} injected crashes; run done in ${Date.now() - t0} ms`);
    assert.deepEqual([...new Set(crashed)].sort(), [
      'gcpkms.ensureKey', 'gcpkms.preflight', 'git.commitFiles', 'kubernetes.ensureNamespace', 'tls.ensureCertificates',
      'vault.configure', 'vault.init', 'vault.proveLogin', 'vault.renderHelmValues', 'vault.revokeRoot', 'vault.status', 'vault.unseal', 'vault.waitReady',
    ]);
    assert.equal(out.init.alreadyInitialized, true, 'the retried init found the Vault its lost attempt initialised');
    await assertBootstrapped(env.client, peer, setting, out, handle);
    const server = await deployment.server;
    assert.equal((await server.api('GET', 'sys/seal-status')).body.sealed, false);
  });

});
