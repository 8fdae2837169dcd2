// The init material is bound to the Vault it came from. `address` is a run input: a run naming
// Vault's namespace and a server of its own (plain http://, so no CA check) must not receive the
// unseal shares, the root token or a service account token. Each vault.* activity that sends one
// refuses (VaultAddressMismatch) before sending anything; the server never sees a secret.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { VaultRef } from '../../activities/vault/_client.ts';
import { assertSameVault, encryptItem, writeKeys, type StoredKeys } from '../../activities/vault/_keys.ts';
import configure from '../../activities/vault/configure.ts';
import proveLogin from '../../activities/vault/proveLogin.ts';
import revokeRoot from '../../activities/vault/revokeRoot.ts';
import unseal from '../../activities/vault/unseal.ts';
import { activityFailure, json, localServer, type LocalServer } from '../activities/_support.ts';
import type { KmsPeer } from './_kms-peer.ts';
import { cleanupSettings, newSetting, type Setting, startSealKms } from './_bootstrap.ts';

const SHARE = `share-${randomBytes(16).toString('hex')}`;
const ROOT = `root-${randomBytes(16).toString('hex')}`;

describe('vault-bootstrap: the init material goes only to its own Vault', { concurrency: false }, () => {
  let peer: KmsPeer;
  let setting: Setting;
  let attacker: LocalServer;
  let hostile: VaultRef;

  before(async () => {
    peer = await startSealKms();
    setting = await newSetting(peer, 'vault-bound');
    peer.seedKey(`projects/${setting.kms.project}/locations/${setting.kms.location}/keyRings/${setting.kms.keyRing}`, setting.kms.cryptoKey);
    // What a finished init left: one share and the root token, KMS-encrypted, for the run's address.
    const ref = VaultRef.parse({ address: setting.input().address, namespace: setting.namespace, kms: setting.kms });
    const signal = new AbortController().signal;
    const data = { 'share-0': await encryptItem(ref, 'share-0', SHARE, signal), 'root-token': await encryptItem(ref, 'root-token', ROOT, signal) };
    await writeKeys(ref, { state: 'stored', sealType: 'shamir', shares: 1, threshold: 1, rootRevoked: false, shareFingerprints: [], rootTokenFingerprint: '', pgpFingerprints: [], data }, signal);
    // A "Vault" that says it is sealed and accepts everything.
    attacker = await localServer((req, res) => {
      if (req.url === '/v1/sys/seal-status') return json(res, 200, { type: 'shamir', initialized: true, sealed: true, t: 1, n: 1, progress: 0, version: '1.0.0' });
      return json(res, 200, { auth: { client_token: 'x', policies: [] }, sealed: false });
    });
    hostile = VaultRef.parse({ ...ref, address: attacker.url('') });
  });
  after(async () => {
    await cleanupSettings();
    await Promise.all([peer?.close(), attacker?.close()]);
  });

  const leaked = () => attacker.requests.filter((r) => `${r.url} ${JSON.stringify(r.headers)} ${r.body}`.match(new RegExp(`${SHARE}|${ROOT}`)) || r.method !== 'GET');

  for (const [name, def, input] of [
    ['vault.unseal', unseal, () => ({ vault: hostile })],
    ['vault.revokeRoot', revokeRoot, () => ({ vault: hostile })],
    ['vault.configure', configure, () => ({ vault: hostile })],
    ['vault.proveLogin', proveLogin, () => ({ vault: hostile })],
  ] as const) {
    it(`${name} refuses another address and sends it nothing`, async () => {
      const f = await activityFailure(def, input());
      assert.equal(f.type, 'VaultAddressMismatch', f.message);
      assert.equal(f.nonRetryable, true);
      assert.match(f.message, new RegExp(`belongs to ${setting.input().address}; refusing to use it with ${attacker.url('')}`));
      assert.deepEqual(leaked(), []);
    });
  }

  it('material that records no address is refused, saying how to bind it', () => {
    const keys = { state: 'stored', address: '' } as StoredKeys;
    assert.throws(() => assertSameVault(hostile, keys), /records no Vault address; refusing to use it with .*kubectl annotate secret -n .* vault-init vault\.cedille\.etsmtl\.ca\/address=/);
    assert.doesNotThrow(() => assertSameVault(hostile, { state: 'absent', address: '' } as StoredKeys));
  });
});
