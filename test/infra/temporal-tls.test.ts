// Temporal over TLS/mTLS with the connection options of infra/temporal-connection.ts (TEMPORAL_TLS_*,
// TEMPORAL_API_KEY_FILE), the ones the worker, the API and `npm start` use. The dev server cannot
// serve TLS (`temporal server start-dev` has no TLS flag), so a TLS front requiring client
// certificates (test/support/temporal-tls-proxy.ts) forwards to it: a worker and a client with the
// right certificate run a workflow through it; without a certificate, or with one of another CA,
// the handshake is refused; the bearer token reaches the server on every call.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { delimiter, dirname, join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { promisify } from 'node:util';
import { Connection } from '@temporalio/client';
import { NativeConnection } from '@temporalio/worker';
import { ensurePki, type Pki } from '../../infra/cluster/pki.ts';
import { ensureTemporalCli } from '../../infra/tools/temporal.ts';
import { temporalConnectionFromEnv, type TemporalConnectionOptions } from '../../infra/temporal-connection.ts';
import { buildApi } from '../../api/app.ts';
import { apiConfigFromEnv } from '../../api/config.ts';
import { temporalTestEnv, type TemporalTestEnv } from '../support/temporal.ts';
import { NO_DEFINITIONS } from '../support/activities/index.ts';
import { startTemporalTlsProxy, type TemporalTlsProxy } from '../support/temporal-tls-proxy.ts';
import { compileYaml } from '../interpreter/_defs.ts';
import { runFailure } from '../activities/_support.ts';

const upstream = process.env.TEMPORAL_ADDRESS!;
assert.ok(upstream, 'TEMPORAL_ADDRESS comes from test/run.ts: npx tsx test/run.ts test/infra/temporal-tls.test.ts');
const scratch = mkdtempSync(join(process.env.CEDILLE_TEST_SCRATCH ?? tmpdir(), 'temporal-tls-'));
// A name of the server certificate other than the address (127.0.0.1): TEMPORAL_TLS_SERVER_NAME is what is checked.
const SERVER_NAME = 'kubernetes.default.svc';

let trusted: Pki;
let rogue: Pki;
let proxy: TemporalTlsProxy;

before(async () => {
  // The same openssl PKI as the local cluster: a CA, a server certificate, a client certificate.
  trusted = await ensurePki(join(scratch, 'trusted'), { serviceIp: '10.96.0.1' });
  rogue = await ensurePki(join(scratch, 'rogue'), { serviceIp: '10.96.0.1' });
  proxy = await startTemporalTlsProxy({ upstream, cert: readFileSync(trusted.serverCert), key: readFileSync(trusted.serverKey), ca: readFileSync(trusted.caCert) });
});
after(async () => {
  await proxy?.close();
});

const mtlsEnv = (extra: NodeJS.ProcessEnv = {}): NodeJS.ProcessEnv => ({
  TEMPORAL_ADDRESS: proxy.address,
  TEMPORAL_TLS_CA: trusted.caCert,
  TEMPORAL_TLS_CERT: trusted.adminCert,
  TEMPORAL_TLS_KEY: trusted.adminKey,
  TEMPORAL_TLS_SERVER_NAME: SERVER_NAME,
  ...extra,
});

const definition = () =>
  compileYaml(`apiVersion: workflows.cedille.etsmtl.ca/v1alpha1
kind: WorkflowDefinition
metadata:
  name: tls-hello
  description: One activity, to show a worker and a client over mTLS.
spec:
  steps:
    - id: hello
      activity: core.echo
      with: { value: over-mtls }
  output:
    said: "\${{ steps.hello.output.value }}"
`);

async function refusedConnect(options: TemporalConnectionOptions): Promise<Error> {
  const before = proxy.refusedHandshakes();
  const err = await Connection.connect({ ...options, connectTimeout: 5_000 }).then(
    async (c) => {
      await c.close();
      return assert.fail('connected without a certificate the server trusts');
    },
    (e: Error) => e,
  );
  assert.ok(proxy.refusedHandshakes() > before, 'the TLS endpoint refused the handshake');
  return err;
}

describe('Temporal over mTLS (TEMPORAL_TLS_*)', { concurrency: false }, () => {
  let env: TemporalTestEnv | undefined;
  after(async () => {
    await env?.close();
  });

  it('a worker and a client with the client certificate run a workflow through the TLS endpoint', { timeout: 120_000 }, async () => {
    const options = temporalConnectionFromEnv(mtlsEnv());
    assert.ok(typeof options.tls === 'object' && options.tls.clientCertPair && options.tls.serverRootCACertificate);
    env = await temporalTestEnv({ connection: options });
    const def = await definition();
    // The definition is registered on this worker (the worker runs only registered definitions).
    await env.startWorker({ registry: { ...NO_DEFINITIONS, getByHash: (hash: string) => (hash === def.hash ? def : undefined) } });
    const calls = proxy.authorizations.length;
    const handle = await env.start(def, undefined, { workflowId: `tls-${randomUUID()}` });
    const out = await handle.result().catch(async (err: unknown) => {
      throw new Error((await runFailure(handle)).text, { cause: err });
    });
    assert.deepEqual(out, { said: 'over-mtls' });
    assert.ok(proxy.authorizations.length > calls, 'the calls went through the TLS endpoint');
  });

  it('a client without a certificate is refused', async () => {
    const { tls } = temporalConnectionFromEnv(mtlsEnv({ TEMPORAL_TLS_CERT: '', TEMPORAL_TLS_KEY: '' }));
    assert.ok(typeof tls === 'object' && !tls.clientCertPair);
    await refusedConnect({ address: proxy.address, tls });
  });

  it('a client with a certificate of another CA is refused, and so is a worker', async () => {
    const options = temporalConnectionFromEnv(mtlsEnv({ TEMPORAL_TLS_CERT: rogue.adminCert, TEMPORAL_TLS_KEY: rogue.adminKey }));
    await refusedConnect(options);
    const before = proxy.refusedHandshakes();
    await assert.rejects(NativeConnection.connect(options));
    assert.ok(proxy.refusedHandshakes() > before);
  });

  it('a server certificate not of TEMPORAL_TLS_CA is not trusted (the client checks the server too)', async () => {
    const err = await Connection.connect({ ...temporalConnectionFromEnv(mtlsEnv({ TEMPORAL_TLS_CA: rogue.caCert })), connectTimeout: 5_000 }).then(
      () => assert.fail('trusted a server certificate of another CA'),
      (e: Error) => e,
    );
    assert.match(String(err.message), /certificate|Failed to connect|deadline|UNAVAILABLE/i);
  });

  it('the API is ready over mTLS with its TEMPORAL_TLS_* settings, and not without the client certificate', async () => {
    const dataDir = mkdtempSync(join(scratch, 'api-'));
    const withCert = await buildApi({ config: apiConfigFromEnv({ ...mtlsEnv(), CEDILLE_DATA_DIR: dataDir }) });
    const withoutCert = await buildApi({ config: apiConfigFromEnv({ ...mtlsEnv({ TEMPORAL_TLS_CERT: '', TEMPORAL_TLS_KEY: '' }), CEDILLE_DATA_DIR: dataDir }) });
    try {
      const ready = await withCert.inject({ method: 'GET', url: '/readyz' });
      assert.equal(ready.statusCode, 200, ready.body);
      const refused = await withoutCert.inject({ method: 'GET', url: '/readyz' });
      assert.equal(refused.statusCode, 503, refused.body);
    } finally {
      await withCert.close();
      await withoutCert.close();
    }
  });
});

describe('infra/k8s/temporal-setup.sh over mTLS', () => {
  it('takes the same TEMPORAL_TLS_* variables as the worker and the API (the `temporal` CLI under its own names)', { timeout: 180_000 }, async () => {
    const namespace = `setup-tls-${randomUUID().slice(0, 8)}`;
    const path = `${dirname(await ensureTemporalCli())}${delimiter}${process.env.PATH}`;
    const script = join(import.meta.dirname, '..', '..', 'infra', 'k8s', 'temporal-setup.sh');
    const calls = proxy.authorizations.length;
    const { stdout } = await promisify(execFile)('sh', [script], { env: { PATH: path, HOME: scratch, ...mtlsEnv({ TEMPORAL_NAMESPACE: namespace }) }, timeout: 170_000 });
    assert.match(stdout, new RegExp(`namespace ${namespace} ready`));
    assert.ok(proxy.authorizations.length > calls, 'the CLI went through the mTLS endpoint');
  });
});

describe('bearer token (TEMPORAL_API_KEY_FILE)', () => {
  it('the client and the worker connection send it on every call, over TLS', async () => {
    const tokenFile = join(scratch, 'temporal-token');
    const token = `eyJ.${randomUUID()}.sig`;
    writeFileSync(tokenFile, `${token}\n`, { mode: 0o600 });
    const options = temporalConnectionFromEnv(mtlsEnv({ TEMPORAL_API_KEY_FILE: tokenFile }));
    assert.equal(options.apiKey, token);

    const from = proxy.authorizations.length;
    const client = await Connection.connect(options);
    await client.workflowService.getSystemInfo({});
    await client.close();
    const native = await NativeConnection.connect(options);
    await native.close();
    const seen = proxy.authorizations.slice(from);
    assert.ok(seen.length >= 2, `calls seen: ${seen.length}`);
    assert.deepEqual([...new Set(seen)], [`Bearer ${token}`]);
  });
});
