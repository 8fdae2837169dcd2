// The seal's KMS side against the local Cloud KMS peer (REST wire format), and the failure that
// must stop a bootstrap before it touches anything: a seal identity without Viewer
// (cloudkms.cryptoKeys.get) fails the preflight, with no Secret, no commit, no KMS resource and no
// Vault call. Also: a fresh project (nothing yet) gets its key ring and key, then passes; TLS
// renewal near expiry; the gcpkms values carry the seal stanza.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { parse } from 'yaml';
import ensureKey from '../../activities/gcpkms/ensureKey.ts';
import preflight from '../../activities/gcpkms/preflight.ts';
import ensureCertificates from '../../activities/tls/ensureCertificates.ts';
import renderHelmValues from '../../activities/vault/renderHelmValues.ts';
import { callActivity, runFailure } from '../activities/_support.ts';
import { temporalTestEnv, type TemporalTestEnv } from '../support/temporal.ts';
import { NO_DEFINITIONS } from '../support/activities/index.ts';
import { testNamespace, adminKube } from '../support/cluster.ts';
import type { KmsPeer } from './_kms-peer.ts';
import { cleanupSettings, newSetting, startBootstrap, useKmsPeer, startSealKms, sealAccount } from './_bootstrap.ts';

describe('vault-bootstrap: the KMS preflight and the seal key', { concurrency: false }, () => {
  let env: TemporalTestEnv;
  let peer: KmsPeer;

  before(async () => {
    env = await temporalTestEnv();
    await env.startWorker({ registry: NO_DEFINITIONS });
    peer = await startSealKms();
  });
  after(async () => {
    await cleanupSettings();
    await env?.close();
    await peer?.close();
  });

  it('a seal identity without Viewer stops the run at the preflight, having touched nothing', { timeout: 60_000 }, async () => {
    const setting = await newSetting(peer, 'vault-preflight', 'seal-no-viewer');
    // The key ring and key exist (made earlier by Pulumi); the seal identity has Encrypter/Decrypter only.
    const ring = `projects/${setting.kms.project}/locations/${setting.kms.location}/keyRings/${setting.kms.keyRing}`;
    peer.seedKey(ring, setting.kms.cryptoKey);
    peer.grants.set(sealAccount('seal-no-viewer'), ['cloudkms.cryptoKeyVersions.useToEncrypt', 'cloudkms.cryptoKeyVersions.useToDecrypt']);
    const head = await setting.remote.head();
    const seen = peer.server.requests.length;

    const handle = await startBootstrap(env.client, env.taskQueue, setting.input());
    const { types, text } = await runFailure(handle);
    assert.ok(types.includes('KmsPermissionDenied'), types.join(', '));
    assert.match(text, /lacks cloudkms\.cryptoKeys\.get on .*cryptoKeys\/unseal-/);
    assert.match(text, /roles\/cloudkms\.viewer/);

    // Only the preflight's testIamPermissions reached KMS; nothing created or encrypted.
    const calls = peer.server.requests.slice(seen).map((r) => `${r.method} ${r.url.replace(/^\/v1\/projects\/[^:]*/, '…')}`);
    assert.deepEqual(calls, ['POST …:testIamPermissions']);
    assert.deepEqual(peer.created, []);
    // No Secret, no commit; the Vault address was never called (nothing listens there).
    const secrets = (await adminKube().list('v1', 'Secret', { namespace: setting.namespace })).items.map((s) => s.metadata.name);
    assert.deepEqual(secrets.filter((n) => n.startsWith('vault')), []);
    assert.equal(await setting.remote.head(), head);
    const history = (await handle.fetchHistory()).events ?? [];
    const scheduled = history.filter((e) => e.activityTaskScheduledEventAttributes).map((e) => e.activityTaskScheduledEventAttributes!.activityType?.name);
    assert.deepEqual(scheduled, ['gcpkms.preflight']);
  });

  it('a fresh project: nothing to test on yet, the key ring and key are created, then the check on the key passes', async () => {
    await useKmsPeer(peer, 'seal-admin');
    peer.grants.set(sealAccount('seal-admin'), ['cloudkms.keyRings.get', 'cloudkms.keyRings.create', 'cloudkms.cryptoKeys.get', 'cloudkms.cryptoKeys.create', 'cloudkms.cryptoKeyVersions.useToEncrypt', 'cloudkms.cryptoKeyVersions.useToDecrypt']);
    const key = { project: 'cedille-fresh', location: 'global', keyRing: 'vault', cryptoKey: 'unseal' };
    assert.deepEqual(await callActivity(preflight, { key }), { testedOn: 'none', resource: 'projects/cedille-fresh/locations/global', granted: [] });
    const made = await callActivity(ensureKey, { key });
    assert.deepEqual(made, { keyRing: 'projects/cedille-fresh/locations/global/keyRings/vault', cryptoKey: 'projects/cedille-fresh/locations/global/keyRings/vault/cryptoKeys/unseal', createdKeyRing: true, createdCryptoKey: true });
    assert.deepEqual(await callActivity(ensureKey, { key }), { ...made, createdKeyRing: false, createdCryptoKey: false }, 'a second call creates nothing');
    const checked = (await callActivity(preflight, { key })) as { testedOn: string; granted: string[] };
    assert.equal(checked.testedOn, 'cryptoKey');
    assert.equal(checked.granted.length, 3);
    // Before the key exists, but with its ring: tested on the ring, with the permission to create the key.
    const onRing = (await callActivity(preflight, { key: { ...key, cryptoKey: 'other' } })) as { testedOn: string; granted: string[] };
    assert.equal(onRing.testedOn, 'keyRing');
    assert.ok(onRing.granted.includes('cloudkms.cryptoKeys.create'));
  });

  it('TLS: reused while valid, renewed within renewBeforeDays (new serial, same CA)', async () => {
    const namespace = await testNamespace('vault-tls');
    const input = { namespace, replicas: 2, validityDays: 30, renewBeforeDays: 7 };
    const created = (await callActivity(ensureCertificates, input)) as { action: string; serial: string; caSerial: string; dnsNames: string[]; ips: string[] };
    assert.equal(created.action, 'created');
    assert.ok(created.dnsNames.includes('vault-1.vault-internal') && created.dnsNames.includes(`vault.${namespace}.svc`) && created.dnsNames.includes('localhost'));
    assert.deepEqual(created.ips, ['127.0.0.1']);
    const reused = (await callActivity(ensureCertificates, input)) as typeof created;
    assert.deepEqual([reused.action, reused.serial], ['reused', created.serial]);
    const renewed = (await callActivity(ensureCertificates, { ...input, renewBeforeDays: 31 })) as typeof created;
    assert.equal(renewed.action, 'renewed');
    assert.notEqual(renewed.serial, created.serial);
    assert.equal(renewed.caSerial, created.caSerial, 'the CA is kept');
    // A new replica needs a new name: renewed.
    const scaled = (await callActivity(ensureCertificates, { ...input, replicas: 3 })) as typeof created;
    assert.equal(scaled.action, 'renewed');
    assert.ok(scaled.dnsNames.includes('vault-2.vault-internal'));
  });

  it('gcpkms seal: the values carry the gcpckms stanza of the key', async () => {
    const out = (await callActivity(renderHelmValues, {
      namespace: 'vault', seal: 'gcpkms', replicas: 3,
      kms: { project: 'cedille-prod', location: 'northamerica-northeast1', keyRing: 'vault', cryptoKey: 'unseal' },
      serviceAccountAnnotations: { 'iam.gke.io/gcp-service-account': 'vault-seal@cedille-prod.iam.gserviceaccount.com' },
    })) as { content: string; path: string };
    assert.equal(out.path, 'apps/vault/values.yaml');
    const values = parse(out.content) as { server: { serviceAccount: { annotations: Record<string, string> }; ha: { raft: { config: string } } } };
    assert.match(values.server.ha.raft.config, /seal "gcpckms" \{\n {2}project {4}= "cedille-prod"\n {2}region {5}= "northamerica-northeast1"\n {2}key_ring {3}= "vault"\n {2}crypto_key = "unseal"\n\}/);
    assert.equal(values.server.serviceAccount.annotations['iam.gke.io/gcp-service-account'], 'vault-seal@cedille-prod.iam.gserviceaccount.com');
  });
});
