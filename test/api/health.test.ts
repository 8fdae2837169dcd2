import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { buildApi } from '../../api/app.ts';
import { apiConfigFromEnv } from '../../api/config.ts';
import { TEMPORAL_UNAVAILABLE } from '../../api/routes/health.ts';
import { freePort } from '../../infra/tools/temporal-dev-server.ts';

const address = process.env.TEMPORAL_ADDRESS!;
assert.ok(address, 'TEMPORAL_ADDRESS comes from test/run.ts: npx tsx test/run.ts test/api/health.test.ts');
const namespace = process.env.TEMPORAL_NAMESPACE ?? 'default';
const dataDir = mkdtempSync(join(process.env.CEDILLE_TEST_SCRATCH ?? tmpdir(), 'cedille-api-'));
const api = (temporalAddress: string, ns: string) =>
  buildApi({ config: apiConfigFromEnv({ TEMPORAL_ADDRESS: temporalAddress, TEMPORAL_NAMESPACE: ns, CEDILLE_DATA_DIR: dataDir }) });

describe('health routes against the real Temporal server', () => {
  let app: Awaited<ReturnType<typeof buildApi>>;
  before(async () => {
    app = await api(address, namespace);
  });
  after(() => app.close());

  it('/healthz answers 200', async () => {
    const res = await app.inject({ method: 'GET', url: '/healthz' });
    assert.equal(res.statusCode, 200);
    assert.deepEqual(res.json(), { status: 'ok' });
  });

  it('/readyz answers 200 when Temporal knows the namespace', async () => {
    const res = await app.inject({ method: 'GET', url: '/readyz' });
    assert.equal(res.statusCode, 200, res.body);
    assert.deepEqual(res.json(), { status: 'ready', namespace });
  });

  it('an unknown route is a 404 problem', async () => {
    const res = await app.inject({ method: 'GET', url: '/nope' });
    assert.equal(res.statusCode, 404);
    assert.match(String(res.headers['content-type']), /^application\/problem\+json/);
    assert.deepEqual(res.json(), { type: 'about:blank', title: 'Not Found', status: 404, detail: 'no route for GET /nope' });
  });

  it('/readyz is a 503 problem for a namespace Temporal does not know', async () => {
    const other = await api(address, 'no-such-namespace');
    try {
      const res = await other.inject({ method: 'GET', url: '/readyz' });
      assert.equal(res.statusCode, 503);
      assert.equal(res.json().type, TEMPORAL_UNAVAILABLE);
    } finally {
      await other.close();
    }
  });
});

describe('health routes without Temporal', () => {
  it('/healthz still answers and /readyz is a 503 problem within the deadline', async () => {
    const dead = `127.0.0.1:${await freePort()}`;
    const app = await api(dead, 'default');
    try {
      assert.equal((await app.inject({ method: 'GET', url: '/healthz' })).statusCode, 200);
      const started = Date.now();
      const res = await app.inject({ method: 'GET', url: '/readyz' });
      assert.ok(Date.now() - started < 5000, `took ${Date.now() - started} ms`);
      assert.equal(res.statusCode, 503);
      assert.match(String(res.headers['content-type']), /^application\/problem\+json/);
      const body = res.json();
      assert.equal(body.type, TEMPORAL_UNAVAILABLE);
      assert.equal(body.title, 'Temporal unavailable');
      assert.equal(body.status, 503);
      assert.match(body.detail, /namespace default/);
    } finally {
      await app.close();
    }
  });
});
