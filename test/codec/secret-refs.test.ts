// Secrets by reference (activities/_secrets.ts) against the dev OpenBao: KV v2 and KV v1 reads,
// prefixes, classified failures that name the path and never a value; the activities that take
// references (core.http headers, moodle.roster's CEDILLE_MOODLE_TOKEN_REF); and the input check refusing a literal
// where a definition's input schema asks for a reference.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes, randomUUID } from 'node:crypto';
import { ApplicationFailure } from '@temporalio/common';
import { forgetSecrets, isSecretRef, parseSecretRef, resolveSecret, vaultAccessFromEnv, type VaultAccess } from '../../activities/_secrets.ts';
import http from '../../activities/core/http.ts';
import roster from '../../activities/moodle/roster.ts';
import { checkInput } from '../../workflows/dsl/input.ts';
import { callActivity, localServer } from '../activities/_support.ts';
import { moodlePeer, setMoodleEnv } from '../moodle/_moodle-peer.ts';

const VAULT = process.env.CEDILLE_TEST_VAULT_ADDR!;
const ROOT = process.env.CEDILLE_TEST_VAULT_TOKEN!;
const access: VaultAccess = { address: VAULT, token: ROOT };
const V2 = `secret/data/cedille-refs-${randomUUID()}`;
const MOUNT_V1 = `kv1-${randomBytes(4).toString('hex')}`;
const value = `s3cr3t-${randomBytes(16).toString('hex')}`;

async function vault(method: string, path: string, body?: unknown, token = ROOT): Promise<Response> {
  return fetch(`${VAULT}/v1/${path}`, { method, headers: { 'x-vault-token': token, 'content-type': 'application/json' }, ...(body ? { body: JSON.stringify(body) } : {}) });
}

async function failure(p: Promise<unknown>): Promise<ApplicationFailure> {
  try {
    await p;
  } catch (err) {
    assert.ok(err instanceof ApplicationFailure, `an ApplicationFailure, got ${err}`);
    return err;
  }
  assert.fail('expected a failure');
}

const saved = { VAULT_ADDR: process.env.VAULT_ADDR, VAULT_TOKEN: process.env.VAULT_TOKEN };
before(async () => {
  assert.ok(VAULT && ROOT, 'run through test/run.ts: the dev OpenBao is started for test/codec/');
  assert.equal((await vault('POST', V2, { data: { token: value, number: 42 } })).status, 200);
  assert.equal((await vault('POST', `sys/mounts/${MOUNT_V1}`, { type: 'kv', options: { version: '1' } })).status, 204);
  assert.equal((await vault('POST', `${MOUNT_V1}/app`, { token: `v1-${value}` })).status, 204);
  forgetSecrets();
});
after(async () => {
  await vault('DELETE', `sys/mounts/${MOUNT_V1}`);
  for (const [k, v] of Object.entries(saved)) {
    if (v === undefined) delete process.env[k];
    else process.env[k] = v;
  }
  forgetSecrets();
});

describe('secret references', () => {
  it('parses both forms and refuses what is not one', () => {
    assert.deepEqual(parseSecretRef('vault:secret/data/notify#discordWebhook'), { path: 'secret/data/notify', field: 'discordWebhook', prefix: '' });
    assert.deepEqual(parseSecretRef({ vault: 'kv/app#token', prefix: 'Bearer ' }), { path: 'kv/app', field: 'token', prefix: 'Bearer ' });
    for (const ok of ['vault:a/b#c', { vault: 'a#b' }]) assert.ok(isSecretRef(ok));
    for (const no of ['https://discord.com/api/webhooks/1/x', 'vault:no-field', 'vault:a#b#c', { vault: 'a#b', extra: 1 }, 42]) assert.ok(!isSecretRef(no), JSON.stringify(no));
  });

  it('reads KV v2 and KV v1 secrets, with a prefix, from VAULT_ADDR/VAULT_TOKEN', async () => {
    assert.equal(await resolveSecret(`vault:${V2}#token`, { access }), value);
    assert.equal(await resolveSecret({ vault: `${V2}#number` }, { access }), '42');
    assert.equal(await resolveSecret({ vault: `${MOUNT_V1}/app#token`, prefix: 'Bearer ' }, { access }), `Bearer v1-${value}`);
    assert.deepEqual(vaultAccessFromEnv({ VAULT_ADDR: `${VAULT}/`, VAULT_TOKEN: 't' }), { address: VAULT, token: 't' });
    assert.deepEqual(vaultAccessFromEnv({ VAULT_ADDR: VAULT, VAULT_K8S_ROLE: 'cedille-worker' })?.kubernetes, {
      role: 'cedille-worker',
      mount: 'kubernetes',
      jwtFile: '/var/run/secrets/kubernetes.io/serviceaccount/token',
    });
    assert.equal(vaultAccessFromEnv({}), undefined);
  });

  it('classifies failures: missing path or field and denied access are final, an unreachable Vault is retried; never the value', async () => {
    const missing = await failure(resolveSecret(`vault:secret/data/none-${randomUUID()}#x`, { access }));
    assert.equal(missing.type, 'SecretNotFound');
    assert.equal(missing.nonRetryable, true);
    const noField = await failure(resolveSecret(`vault:${V2}#absent`, { access }));
    assert.match(noField.message, /no field absent/);
    assert.ok(!noField.message.includes(value));
    forgetSecrets();
    const denied = await failure(resolveSecret(`vault:${V2}#token`, { access: { address: VAULT, token: 'not-a-token' } }));
    assert.equal(denied.type, 'SecretAccessDenied');
    assert.equal(denied.nonRetryable, true);
    const down = await failure(resolveSecret(`vault:${V2}#token`, { access: { address: 'http://127.0.0.1:1', token: ROOT } }));
    assert.equal(down.type, 'VaultUnavailable');
    assert.equal(down.nonRetryable, false);
  });

  it('core.http sends header values read from Vault (both forms); its input keeps the references', async () => {
    process.env.VAULT_ADDR = VAULT;
    process.env.VAULT_TOKEN = ROOT;
    forgetSecrets();
    const peer = await localServer((req, res) => res.writeHead(req.headers.authorization === `Bearer ${value}` && req.headers['x-key'] === value ? 200 : 401).end());
    const allow = process.env.CEDILLE_HTTP_ALLOW;
    process.env.CEDILLE_HTTP_ALLOW = peer.host;
    try {
      const out = (await callActivity(http, { url: peer.url('/x'), headers: { Authorization: { vault: `${V2}#token`, prefix: 'Bearer ' }, 'X-Key': `vault:${V2}#token`, Accept: 'text/plain' } })) as { status: number };
      assert.equal(out.status, 200);
      assert.equal(peer.requests[0]!.headers.accept, 'text/plain', 'plain headers unchanged');
      const bad = await failure(callActivity(http, { url: peer.url('/x'), headers: { Authorization: `vault:${V2}#nope` } }));
      assert.equal(bad.type, 'SecretNotFound');
    } finally {
      if (allow === undefined) delete process.env.CEDILLE_HTTP_ALLOW;
      else process.env.CEDILLE_HTTP_ALLOW = allow;
      await peer.close();
    }
  });

  it('moodle.roster takes its token from Vault (the worker\'s CEDILLE_MOODLE_TOKEN_REF) instead of the environment', async () => {
    process.env.VAULT_ADDR = VAULT;
    process.env.VAULT_TOKEN = ROOT;
    const moodle = await moodlePeer({ token: value, courseId: 7, users: [{ id: 1, username: 'ada', firstname: 'Ada', lastname: 'Lovelace', email: 'ada@etsmtl.ca', groups: [], active: true }] });
    const restore = setMoodleEnv({ CEDILLE_MOODLE_URL: moodle.url('/'), CEDILLE_MOODLE_TOKEN_REF: `vault:${V2}#token`, MOODLE_TOKEN: 'not-this-one' });
    try {
      const out = (await callActivity(roster, { courseId: 7 })) as { students: { id: string }[] };
      assert.deepEqual(out.students.map((s) => s.id), ['1']);
    } finally {
      restore();
      await moodle.close();
    }
  });

  it('refuses a literal where the input schema asks for a reference (format: secret-ref or x-secret)', () => {
    const def = {
      hash: `secret-ref-${randomUUID()}`,
      input: { type: 'object', properties: { token: { type: 'string', format: 'secret-ref' }, webhook: { 'x-secret': true }, name: { type: 'string' } } },
    };
    const literal = checkInput(def, { token: 'plain-secret-value', webhook: 'https://discord.com/api/webhooks/1/abc', name: 'x' });
    assert.equal(literal.ok, false);
    assert.deepEqual(!literal.ok && literal.issues, [
      { path: ['token'], message: 'must be a secret reference (vault:<path>#<field>), never the secret itself' },
      { path: ['webhook'], message: 'must be a secret reference (vault:<path>#<field>), never the secret itself' },
    ]);
    assert.equal(checkInput(def, { token: `vault:${V2}#token`, webhook: 'vault:kv/hooks#sre', name: 'x' }).ok, true);
  });
});
