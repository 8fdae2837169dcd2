// The worker's Google credentials through google-auth-library: an `external_account` file (Workload
// Identity Federation) whose subject token is a real projected ServiceAccount token of the local
// kube-apiserver, exchanged at the local STS peer and traded for a service account's token at the local IAM
// credentials peer. Those tokens reach GCS (fake-gcs-server behind a gate that, like GCS, refuses a request
// without a valid token) and the KMS peer; an expired subject token, an audience the provider does not
// serve, or an identity not allowed to impersonate the account fail with an error naming the credential
// file and the stage; a credential file whose subject token would come from a URL is refused.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import checkBucket from '../../activities/gcs/checkBucket.ts';
import listBackups from '../../activities/gcs/listBackups.ts';
import preflight from '../../activities/gcpkms/preflight.ts';
import { activityFailure, callActivity } from '../activities/_support.ts';
import { freshBucket, gcsUrl } from '../backup/_agent-support.ts';
import { kubeClients, type KubeClients } from '../support/cluster.ts';
import { externalAccount, workloadCredentialFile } from '../support/gcp-credential-file.ts';
import { startGcpTokenPeers, PROVIDER_NAME, type GcpTokenPeers } from '../support/gcp-token-peers.ts';
import { gcsTokenGate, type GcsTokenGate } from '../support/gcs-token-gate.ts';
import { startKmsPeer, type KmsPeer } from '../vault/_kms-peer.ts';

const WORKER_SA = 'cedille-worker@cedille-test.iam.gserviceaccount.com';
const key = { project: 'cedille-test', location: 'global', keyRing: 'vault', cryptoKey: 'unseal' };
const ENV = ['GOOGLE_APPLICATION_CREDENTIALS', 'CEDILLE_GCS_ENDPOINT', 'CEDILLE_GCP_KMS_ENDPOINT'] as const;
const saved = Object.fromEntries(ENV.map((k) => [k, process.env[k]]));

let k: KubeClients;
let peers: GcpTokenPeers;
let gate: GcsTokenGate;
let kms: KmsPeer;
let dir: string;
let namespace: string;
let bucket: string;

before(async () => {
  k = kubeClients();
  // Made here and deleted in after() (testNamespace's own after() would run at once inside a before hook).
  namespace = `gcp-creds-${randomBytes(4).toString('hex')}`;
  await k.core.createNamespace({ body: { metadata: { name: namespace, labels: { 'cedille.test/namespace': 'true' } } } });
  peers = await startGcpTokenPeers(k);
  gate = await gcsTokenGate(gcsUrl(), (t) => peers.ownerOf(t));
  kms = await startKmsPeer((t) => peers.ownerOf(t));
  kms.grants.set(WORKER_SA, ['cloudkms.cryptoKeys.get', 'cloudkms.cryptoKeyVersions.useToEncrypt', 'cloudkms.cryptoKeyVersions.useToDecrypt']);
  kms.seedKey(`projects/${key.project}/locations/${key.location}/keyRings/${key.keyRing}`, key.cryptoKey);
  dir = mkdtempSync(join(process.env.CEDILLE_TEST_SCRATCH ?? tmpdir(), 'gcp-creds-'));
  bucket = await freshBucket();
  process.env.CEDILLE_GCS_ENDPOINT = gate.url;
  process.env.CEDILLE_GCP_KMS_ENDPOINT = kms.endpoint;
});

after(async () => {
  for (const name of ENV) {
    if (saved[name] === undefined) delete process.env[name];
    else process.env[name] = saved[name];
  }
  await Promise.all([peers?.close(), gate?.close(), kms?.close()]);
  if (dir) rmSync(dir, { recursive: true, force: true });
  if (namespace) await k.core.deleteNamespace({ name: namespace }).catch(() => undefined);
});

const credentialFile = (o: { bind?: boolean; audience?: string } = {}) =>
  workloadCredentialFile(k, peers, { dir, namespace, serviceAccount: 'cedille-worker', email: WORKER_SA, ...o });

describe('GCP credentials: Workload Identity Federation with a projected ServiceAccount token', { concurrency: false }, () => {
  it('the token exchange speaks STS and IAM credentials wire formats, and the tokens reach GCS and KMS', async () => {
    const cred = await credentialFile();
    process.env.GOOGLE_APPLICATION_CREDENTIALS = cred.file;
    const gateBefore = gate.seen.length;

    const probe = (await callActivity(checkBucket, { bucket })) as { exists: boolean; writable: boolean; problem?: string };
    assert.deepEqual(probe, { exists: true, writable: true });
    const listed = (await callActivity(listBackups, { bucket, prefix: 'mayastor/apps/data/' })) as { backups: unknown[] };
    assert.deepEqual(listed.backups, []);
    const gcsCalls = gate.seen.slice(gateBefore);
    assert.ok(gcsCalls.length >= 3, JSON.stringify(gcsCalls));
    assert.deepEqual(gcsCalls.filter((c) => c.owner !== WORKER_SA), [], 'every GCS request carried the impersonated account\'s token');

    const out = (await callActivity(preflight, { key })) as { granted: string[] };
    assert.equal(out.granted.length, 3);
    const kmsCall = kms.server.requests.at(-1)!;
    assert.equal(peers.ownerOf(/^Bearer (.+)$/.exec(kmsCall.headers.authorization ?? '')![1]!), WORKER_SA);

    // One exchange for both systems: the library caches the token.
    assert.equal(peers.sts.requests.length, 1);
    const form = new URLSearchParams(peers.sts.requests[0]!.body);
    assert.equal(form.get('grant_type'), 'urn:ietf:params:oauth:grant-type:token-exchange');
    assert.equal(form.get('audience'), PROVIDER_NAME);
    assert.equal(form.get('subject_token_type'), 'urn:ietf:params:oauth:token-type:jwt');
    assert.equal(form.get('requested_token_type'), 'urn:ietf:params:oauth:token-type:access_token');
    assert.match(form.get('subject_token') ?? '', /^eyJ/, 'the projected token itself');
    assert.equal(peers.iam.requests.length, 1);
    assert.equal(peers.iam.requests[0]!.url, `/v1/projects/-/serviceAccounts/${WORKER_SA}:generateAccessToken`);
    assert.match(JSON.stringify(JSON.parse(peers.iam.requests[0]!.body)), /cloud-platform/);
  });

  it('an expired subject token is a final error naming the credential file', async () => {
    const cred = await credentialFile();
    process.env.GOOGLE_APPLICATION_CREDENTIALS = cred.file;
    peers.clockSkewSeconds = 2 * 3600; // the projected token is an hour old past its expiry
    try {
      const kmsFailure = await activityFailure(preflight, { key });
      assert.equal(kmsFailure.type, 'GcpCredentialsRefused');
      assert.equal(kmsFailure.nonRetryable, true);
      assert.ok(kmsFailure.message.includes(`GCP credentials ${cred.file}: token exchange refused by ${peers.tokenUrl} (HTTP 400)`), kmsFailure.message);
      assert.match(kmsFailure.message, /invalid_grant.*"exp" claim/);
      const probe = (await callActivity(checkBucket, { bucket })) as { exists: boolean; problem?: string };
      assert.equal(probe.exists, false);
      assert.ok(probe.problem?.includes(`GCP credentials ${cred.file}: token exchange refused`), probe.problem);
    } finally {
      peers.clockSkewSeconds = 0;
    }
  });

  it('an identity the service account does not trust is refused at impersonation, naming the file', async () => {
    const cred = await workloadCredentialFile(k, peers, { dir, namespace, serviceAccount: 'someone-else', email: WORKER_SA, bind: false });
    process.env.GOOGLE_APPLICATION_CREDENTIALS = cred.file;
    const failure = await activityFailure(preflight, { key });
    assert.equal(failure.type, 'GcpCredentialsRefused');
    assert.ok(failure.message.includes(`GCP credentials ${cred.file}: impersonation refused by ${peers.impersonationUrl(WORKER_SA)} (HTTP 403)`), failure.message);
    assert.match(failure.message, /iam\.serviceAccounts\.getAccessToken/);
  });

  it('an audience no provider serves is refused at the exchange, naming the file', async () => {
    const cred = await credentialFile({ audience: PROVIDER_NAME.replace(/providers\/.*/, 'providers/other') });
    process.env.GOOGLE_APPLICATION_CREDENTIALS = cred.file;
    const failure = await activityFailure(preflight, { key });
    assert.equal(failure.type, 'GcpCredentialsRefused');
    assert.ok(failure.message.includes(`GCP credentials ${cred.file}: token exchange refused`), failure.message);
    assert.match(failure.message, /invalid_target/);
  });

  it('a subject token from a URL (or a program) is not accepted: the file is refused before any request', async () => {
    const file = join(dir, 'url-sourced.json');
    const content = { ...externalAccount(peers, { audience: PROVIDER_NAME, email: WORKER_SA, tokenFile: '/unused' }), credential_source: { url: 'http://169.254.169.254/token' } };
    writeFileSync(file, JSON.stringify(content));
    process.env.GOOGLE_APPLICATION_CREDENTIALS = file;
    const before = peers.sts.requests.length;
    const failure = await activityFailure(preflight, { key });
    assert.equal(failure.type, 'GcpCredentialsRefused');
    assert.match(failure.message, new RegExp(`GCP credentials ${file}: credential_source must be \\{ file \\}`));
    assert.equal(peers.sts.requests.length, before);
  });

  it('without a credential file, an emulator endpoint gets no token (the gate refuses), and the error says so', async () => {
    delete process.env.GOOGLE_APPLICATION_CREDENTIALS;
    const probe = (await callActivity(checkBucket, { bucket })) as { exists: boolean; problem?: string };
    assert.equal(probe.exists, false);
    assert.match(probe.problem ?? '', /401|Anonymous/);
    assert.equal(gate.seen.at(-1)!.owner, undefined);
  });
});
