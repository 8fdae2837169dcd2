// The Temporal connection settings (infra/temporal-connection.ts) and the worker's workspace egress
// setting (worker/config.ts): what each variable turns on, and a clear error naming the variable
// for every inconsistent or unreadable setting, at start-up rather than at the first call.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { promisify } from 'node:util';
import { describeTemporalConnection, temporalConnectionFromEnv } from '../../infra/temporal-connection.ts';
import { workspaceEgressExcept } from '../../worker/config.ts';

const dir = mkdtempSync(join(process.env.CEDILLE_TEST_SCRATCH ?? tmpdir(), 'temporal-connection-'));
const file = (name: string, text: string) => {
  const path = join(dir, name);
  writeFileSync(path, text);
  return path;
};
const ca = file('ca.pem', 'CA');
const crt = file('client.pem', 'CRT');
const key = file('client.key', 'KEY');

describe('temporalConnectionFromEnv', () => {
  it('plain TEMPORAL_ADDRESS: plaintext, no token (the dev server, npm start)', () => {
    assert.deepEqual(temporalConnectionFromEnv({ TEMPORAL_ADDRESS: 'temporal:7233' }), { address: 'temporal:7233' });
    assert.deepEqual(temporalConnectionFromEnv({}), { address: '127.0.0.1:7233' });
  });

  it('TEMPORAL_TLS_* files: TLS with that CA, client certificate and server name', () => {
    const o = temporalConnectionFromEnv({ TEMPORAL_ADDRESS: 'h:7233', TEMPORAL_TLS_CA: ca, TEMPORAL_TLS_CERT: crt, TEMPORAL_TLS_KEY: key, TEMPORAL_TLS_SERVER_NAME: 'temporal-frontend' });
    assert.deepEqual(o, {
      address: 'h:7233',
      tls: { serverRootCACertificate: Buffer.from('CA'), clientCertPair: { crt: Buffer.from('CRT'), key: Buffer.from('KEY') }, serverNameOverride: 'temporal-frontend' },
    });
    assert.equal(describeTemporalConnection(o), 'h:7233 (mTLS)');
    assert.deepEqual(temporalConnectionFromEnv({ TEMPORAL_TLS: 'true' }).tls, true, 'system CAs');
  });

  it('a token turns TLS on unless TEMPORAL_TLS=false says plaintext; it never shows in the description', () => {
    const token = file('token', ' eyJ.token \n');
    const o = temporalConnectionFromEnv({ TEMPORAL_API_KEY_FILE: token });
    assert.deepEqual(o, { address: '127.0.0.1:7233', tls: true, apiKey: 'eyJ.token' });
    assert.equal(describeTemporalConnection(o), '127.0.0.1:7233 (TLS, bearer token)');
    assert.deepEqual(temporalConnectionFromEnv({ TEMPORAL_API_KEY: 'k', TEMPORAL_TLS: 'false' }), { address: '127.0.0.1:7233', tls: false, apiKey: 'k' });
  });

  it('refuses inconsistent or unreadable settings, naming the variable', () => {
    assert.throws(() => temporalConnectionFromEnv({ TEMPORAL_TLS_CERT: crt }), /TEMPORAL_TLS_CERT and TEMPORAL_TLS_KEY go together/);
    assert.throws(() => temporalConnectionFromEnv({ TEMPORAL_TLS_KEY: key }), /TEMPORAL_TLS_CERT and TEMPORAL_TLS_KEY go together/);
    assert.throws(() => temporalConnectionFromEnv({ TEMPORAL_TLS_CA: join(dir, 'missing.pem') }), /TEMPORAL_TLS_CA=.*missing\.pem: cannot read the file \(ENOENT\)/);
    assert.throws(() => temporalConnectionFromEnv({ TEMPORAL_TLS: 'yes please' }), /TEMPORAL_TLS=yes please: expected true or false/);
    assert.throws(() => temporalConnectionFromEnv({ TEMPORAL_TLS: 'false', TEMPORAL_TLS_CA: ca }), /TEMPORAL_TLS=false contradicts/);
    assert.throws(() => temporalConnectionFromEnv({ TEMPORAL_API_KEY: 'k', TEMPORAL_API_KEY_FILE: ca }), /TEMPORAL_API_KEY_FILE or TEMPORAL_API_KEY, not both/);
    assert.throws(() => temporalConnectionFromEnv({ TEMPORAL_API_KEY_FILE: file('empty', '\n') }), /TEMPORAL_API_KEY_FILE=.*: the file is empty/);
  });
});

describe('CEDILLE_WORKSPACE_EGRESS_EXCEPT', () => {
  it('defaults to the RFC 1918 ranges; takes a comma-separated list', () => {
    assert.deepEqual(workspaceEgressExcept({}), ['10.0.0.0/8', '172.16.0.0/12', '192.168.0.0/16']);
    assert.deepEqual(workspaceEgressExcept({ CEDILLE_WORKSPACE_EGRESS_EXCEPT: ' 10.244.0.0/16,10.96.0.0/12 , 142.137.250.17/32,10.244.0.0/16' }), ['10.244.0.0/16', '10.96.0.0/12', '142.137.250.17/32']);
  });

  it('refuses what is not a canonical IPv4 CIDR, naming the variable and the entry', () => {
    const bad = (value: string, why: RegExp) => assert.throws(() => workspaceEgressExcept({ CEDILLE_WORKSPACE_EGRESS_EXCEPT: value }), (err: Error) => err.message.startsWith(`CEDILLE_WORKSPACE_EGRESS_EXCEPT: "${value}"`) && why.test(err.message));
    bad('10.0.0.0', /is not an IPv4 CIDR/);
    bad('fd00::/8', /is not an IPv4 CIDR/);
    bad('300.0.0.0/8', /octet above 255/);
    bad('0.0.0.0/0', /prefix length of 1 to 32/);
    bad('10.0.0.0/33', /prefix length of 1 to 32/);
    bad('192.168.1.7/16', /host bits set \(the network is 192\.168\.0\.0\/16\)/);
  });

  it('a worker with a malformed setting does not start, and says why', async () => {
    const run = promisify(execFile)(process.execPath, ['--import', 'tsx', join(import.meta.dirname, '..', '..', 'worker', 'main.ts')], {
      env: { ...process.env, TEMPORAL_ADDRESS: '127.0.0.1:1', CEDILLE_WORKSPACE_EGRESS_EXCEPT: '10.0.0.0/8,cluster' },
      timeout: 60_000,
    });
    await assert.rejects(run, (err: Error & { stderr?: string; code?: number }) => {
      assert.notEqual(err.code, 0);
      assert.match(err.stderr ?? '', /CEDILLE_WORKSPACE_EGRESS_EXCEPT: "cluster" is not an IPv4 CIDR/);
      return true;
    });
  });
});
