// Where the gcpkms activities send the worker's KMS token: only to the worker's configured endpoint
// (CEDILLE_GCP_KMS_ENDPOINT), with the worker's configured identity (GOOGLE_APPLICATION_CREDENTIALS, here a
// Workload Identity Federation file through the local STS and IAM credentials peers). A run input naming an endpoint (an attacker's server) or an environment
// variable (any secret of the worker) is refused, naming the field, and the attacker's server
// receives nothing: through the built-in vault-bootstrap (refused at start, before any activity) and
// through a definition that still passes those fields to gcpkms.preflight (refused by the activity).
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import ensureKey from '../../activities/gcpkms/ensureKey.ts';
import preflight from '../../activities/gcpkms/preflight.ts';
import { loadCatalog } from '../../activities/catalog.ts';
import { compileSource, formatCompileError } from '../../workflows/compiler/index.ts';
import type { CompiledDefinition } from '../../workflows/dsl/compiled.ts';
import { temporalTestEnv, type TemporalTestEnv } from '../support/temporal.ts';
import { startGcpIdentity, serviceAccountEmail, type GcpIdentity } from '../support/gcp-identity.ts';
import { startKmsPeer, type KmsPeer } from '../vault/_kms-peer.ts';
import { startBootstrap, vaultBootstrapDefinition } from '../vault/_bootstrap.ts';
import { callActivity, json, localServer, runFailure, type LocalServer } from './_support.ts';

const WORKER_SECRET = `worker-secret-${randomBytes(12).toString('hex')}`;
const WORKER_SA = serviceAccountEmail('cedille-worker');
const key = { project: 'cedille-test', location: 'global', keyRing: 'vault', cryptoKey: 'unseal' };
const saved = { ...process.env };

let env: TemporalTestEnv;
let attacker: LocalServer;
let peer: KmsPeer;
let identity: GcpIdentity;

before(async () => {
  // Answers like a KMS with every permission, so a leaked call would go on unnoticed but for this check.
  attacker = await localServer((_req, res) => json(res, 200, { permissions: ['cloudkms.cryptoKeyVersions.useToEncrypt', 'cloudkms.cryptoKeyVersions.useToDecrypt', 'cloudkms.cryptoKeys.get'] }));
  identity = await startGcpIdentity();
  peer = await startKmsPeer((token) => identity.ownerOf(token));
  peer.grants.set(WORKER_SA, ['cloudkms.cryptoKeys.get', 'cloudkms.cryptoKeyVersions.useToEncrypt', 'cloudkms.cryptoKeyVersions.useToDecrypt']);
  peer.seedKey(`projects/${key.project}/locations/${key.location}/keyRings/${key.keyRing}`, key.cryptoKey);
  // The worker runs in this process: its configuration is this environment.
  process.env.CEDILLE_TEST_WORKER_SECRET = WORKER_SECRET;
  process.env.CEDILLE_GCP_KMS_ENDPOINT = peer.endpoint;
  await identity.use(WORKER_SA);
  const compiled = compileSource(PASS_THROUGH, { catalog: await loadCatalog() });
  if (!compiled.ok) throw new Error(compiled.errors.map(formatCompileError).join('\n'));
  passThrough = compiled.definition;
  // The worker runs only registered definitions: these two are.
  const registered = new Map([passThrough, await vaultBootstrapDefinition()].map((d) => [d.hash, d]));
  env = await temporalTestEnv();
  await env.startWorker({ registry: { getByWorkflowType: () => undefined, getByHash: (hash: string) => registered.get(hash), refresh: async () => undefined } });
});

after(async () => {
  for (const k of ['CEDILLE_TEST_WORKER_SECRET', 'CEDILLE_GCP_KMS_ENDPOINT', 'GOOGLE_APPLICATION_CREDENTIALS']) {
    if (saved[k] === undefined) delete process.env[k];
    else process.env[k] = saved[k];
  }
  await env?.close();
  await Promise.all([attacker?.close(), peer?.close(), identity?.close()]);
});

const hostile = () => ({ ...key, endpoint: attacker.url(''), tokenEnv: 'CEDILLE_TEST_WORKER_SECRET' });

/** A definition that hands its input's key to gcpkms.preflight as is (as one written before the fields moved would). */
const PASS_THROUGH = `
apiVersion: workflows.cedille.etsmtl.ca/v1alpha1
kind: WorkflowDefinition
metadata: { name: kms-pass-through }
spec:
  input: { type: object, properties: { kms: { type: object } } }
  steps:
    - id: preflight
      activity: gcpkms.preflight
      with: { key: "\${{ inputs.kms }}" }
      retry: { maximumAttempts: 2 }
`;

let passThrough: CompiledDefinition;

describe('gcpkms: the KMS endpoint and token come from the worker only', { concurrency: false }, () => {
  it('vault-bootstrap refuses kms.endpoint and kms.tokenEnv at start; the named server receives nothing', async () => {
    const handle = await startBootstrap(env.client, env.taskQueue, {
      namespace: 'vault', address: 'https://vault.vault.svc:8200', seal: 'gcpkms', kms: hostile(), gitops: { repository: '/nonexistent' },
    });
    const { text } = await runFailure(handle);
    assert.match(text, /kms/);
    assert.match(text, /"endpoint"/);
    assert.match(text, /"tokenEnv"/);
    const history = (await handle.fetchHistory()).events ?? [];
    assert.deepEqual(history.filter((e) => e.activityTaskScheduledEventAttributes), [], 'no activity scheduled');
    assert.deepEqual(attacker.requests, []);
  });

  it('gcpkms.preflight handed the fields by a definition refuses them by name; the named server receives nothing', async () => {
    const handle = await env.start(passThrough, { kms: hostile() });
    const { types, text } = await runFailure(handle);
    assert.ok(types.includes('InvalidActivityInput'), types.join(', '));
    assert.match(text, /key: endpoint: the KMS endpoint is worker configuration \(CEDILLE_GCP_KMS_ENDPOINT\), not an input/);
    assert.match(text, /tokenEnv: the KMS credentials are worker configuration \(GOOGLE_APPLICATION_CREDENTIALS\)/);
    assert.deepEqual(attacker.requests, []);
  });

  it('each activity refuses either field alone, naming it', () => {
    for (const def of [preflight, ensureKey]) {
      for (const [field, value] of [['endpoint', attacker.url('')], ['tokenEnv', 'CEDILLE_TEST_WORKER_SECRET']] as const) {
        const parsed = def.input.safeParse({ key: { ...key, [field]: value } });
        assert.ok(!parsed.success, `${def.name} accepted ${field}`);
        assert.deepEqual(parsed.error.issues.map((i) => [i.path.join('.'), i.message.split(':')[0]]), [['key', field]]);
      }
    }
    assert.deepEqual(attacker.requests, []);
  });

  it('calls go to CEDILLE_GCP_KMS_ENDPOINT with the token of the worker\'s credential file', async () => {
    const seen = peer.server.requests.length;
    const out = (await callActivity(preflight, { key })) as { testedOn: string; granted: string[] };
    assert.equal(out.testedOn, 'cryptoKey');
    assert.equal(out.granted.length, 3);
    const calls = peer.server.requests.slice(seen);
    assert.equal(calls.length, 1);
    assert.equal(identity.ownerOf(/^Bearer (.+)$/.exec(calls[0]!.headers.authorization ?? '')?.[1] ?? ''), WORKER_SA);
    assert.deepEqual(attacker.requests, []);
  });
});
