// What incident webhooks refuse, and that a refusal opens nothing: unsigned, wrongly signed, stale
// Grafana timestamps and unknown bearer tokens (401); malformed bodies (400 naming the field);
// oversized bodies (413); and a fast-check fuzz of webhook bodies that never gets a 5xx.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { deliver, fixture, incidentIdOf, intakeEnv, uniqueGroupKey, type Auth, type IntakeEnv } from './_intake-support.ts';

let env: IntakeEnv;
before(async () => {
  env = await intakeEnv();
});
after(() => env?.close());

const exists = async (id: string) => {
  try {
    await env.temporal.client.workflow.getHandle(id).describe();
    return true;
  } catch {
    return false;
  }
};

describe('webhook authentication', () => {
  for (const [source, auth, why] of [
    ['alertmanager', 'none', /no bearer token; no X-Signature-256 signature/i],
    ['alertmanager', 'bad-bearer', /unknown bearer token/],
    ['alertmanager', 'bad-hmac', /bad x-signature-256 signature/],
    ['grafana', 'none', /no x-grafana-alerting-signature/],
    ['grafana', 'bearer', /no x-grafana-alerting-signature/],
    ['grafana', 'stale-grafana', /more than 300s away/],
    ['grafana', 'hmac', /no x-grafana-alerting-signature/],
  ] as const) {
    it(`${source}, ${auth}: 401 and nothing opened`, async () => {
      const key = uniqueGroupKey(`auth-${auth}`);
      const res = await deliver(env, source, fixture(source === 'grafana' ? 'grafana-firing.json' : 'firing-two-alerts.json', key), auth as Auth);
      assert.equal(res.statusCode, 401, res.body);
      assert.match(String(res.headers['content-type']), /application\/problem\+json/);
      assert.match(res.json().detail, why);
      assert.equal(await exists(incidentIdOf(key)), false);
    });
  }

  it('API tokens do not authenticate webhooks', async () => {
    const key = uniqueGroupKey('api-token');
    const res = await env.as('admin', { method: 'POST', url: '/v1/incidents/webhooks/alertmanager', payload: fixture('firing-two-alerts.json', key) });
    assert.equal(res.statusCode, 401);
    assert.equal(await exists(incidentIdOf(key)), false);
  });

  it('the signature covers the exact bytes: a re-serialised body fails, the signed one passes', async () => {
    const key = uniqueGroupKey('exact-bytes');
    const pretty = JSON.stringify(fixture('firing-two-alerts.json', key), null, 2);
    const ok = await deliver(env, 'alertmanager', pretty, 'hmac');
    assert.equal(ok.statusCode, 202, ok.body);
    assert.equal(ok.json().action, 'opened');
  });
});

describe('malformed webhooks: 400 naming the field, nothing opened', () => {
  const cases: [string, (b: Record<string, unknown> & { alerts: Record<string, unknown>[] }) => unknown, string][] = [
    ['missing groupKey', (b) => ({ ...b, groupKey: undefined }), 'body.groupKey'],
    ['bad group status', (b) => ({ ...b, status: 'burning' }), 'body.status'],
    ['bad alert status', (b) => ({ ...b, alerts: [{ ...b.alerts[0], status: 'pending' }] }), 'body.alerts.0.status'],
    ['bad startsAt', (b) => ({ ...b, alerts: [{ ...b.alerts[0], startsAt: 'yesterday' }] }), 'body.alerts.0.startsAt'],
    ['missing fingerprint', (b) => ({ ...b, alerts: [{ ...b.alerts[0], fingerprint: undefined }] }), 'body.alerts.0.fingerprint'],
    ['labels not strings', (b) => ({ ...b, alerts: [{ ...b.alerts[0], labels: { severity: 3 } }] }), 'body.alerts.0.labels.severity'],
    ['no alerts', (b) => ({ ...b, alerts: [] }), 'body.alerts'],
    ['payload version 3', (b) => ({ ...b, version: '3' }), 'body.version'],
    ['a JSON array', () => [], 'body'],
  ];
  for (const [name, mutate, field] of cases) {
    it(name, async () => {
      const key = uniqueGroupKey(`malformed-${name}`);
      const res = await deliver(env, 'alertmanager', mutate(fixture('firing-two-alerts.json', key)));
      assert.equal(res.statusCode, 400, res.body);
      assert.ok(res.json().errors.some((e: { field: string }) => e.field === field), `${field} in ${res.body}`);
      assert.equal(await exists(incidentIdOf(key)), false);
    });
  }

  it('not JSON (signed): 400 naming the body', async () => {
    const res = await deliver(env, 'alertmanager', '{"version": "4", "groupKey": ', 'hmac');
    assert.equal(res.statusCode, 400);
    assert.equal(res.json().errors[0].field, 'body');
    assert.match(res.json().errors[0].message, /not JSON/);
  });

  it('an empty body, or another content type, is read as bytes: 400, never 415', async () => {
    const empty = await env.app.inject({ method: 'POST', url: '/v1/incidents/webhooks/alertmanager', headers: { authorization: 'Bearer x' } });
    assert.equal(empty.statusCode, 401);
    const text = await env.app.inject({
      method: 'POST',
      url: '/v1/incidents/webhooks/alertmanager',
      headers: { 'content-type': 'text/plain', authorization: `Bearer ${(await import('./_intake-support.ts')).SECRETS.bearer}` },
      payload: 'hello',
    });
    assert.equal(text.statusCode, 400, text.body);
  });

  it('a body over maxBodyBytes: 413', async () => {
    const key = uniqueGroupKey('big');
    const body = fixture('firing-two-alerts.json', key);
    body.commonAnnotations = { description: 'x'.repeat(70_000) };
    const res = await deliver(env, 'alertmanager', body);
    assert.equal(res.statusCode, 413, res.body);
    assert.equal(await exists(incidentIdOf(key)), false);
  });
});

describe('fuzzed webhook bodies', () => {
  it('never get a 5xx (signed bodies reach the parser; valid ones open or ignore)', async () => {
    const base = fixture('firing-two-alerts.json', 'fuzz');
    const anyJson = fc.jsonValue({ maxDepth: 3 });
    const mutation = fc.oneof(
      // Random JSON, and random bytes.
      anyJson.map((v) => JSON.stringify(v)),
      fc.uint8Array({ maxLength: 200 }).map((a) => Buffer.from(a)),
      // The recorded payload with one field replaced by anything (a fresh groupKey when it survives).
      fc.tuple(fc.constantFrom('version', 'groupKey', 'status', 'alerts', 'commonLabels', 'truncatedAlerts', 'receiver'), anyJson, fc.uuid()).map(([k, v, u]) =>
        JSON.stringify({ ...base, groupKey: `fuzz-${u}`, [k]: v }),
      ),
      // One alert field replaced by anything.
      fc.tuple(fc.constantFrom('status', 'labels', 'annotations', 'startsAt', 'endsAt', 'fingerprint', 'generatorURL'), anyJson, fc.uuid()).map(([k, v, u]) =>
        JSON.stringify({ ...base, groupKey: `fuzz-${u}`, alerts: [{ ...base.alerts[0], [k]: v }] }),
      ),
    );
    await fc.assert(
      fc.asyncProperty(mutation, fc.constantFrom<Auth>('hmac', 'bearer', 'none'), async (body, auth) => {
        const res = await deliver(env, 'alertmanager', body, auth);
        assert.ok(res.statusCode < 500, `${res.statusCode} ${res.body}`);
        assert.ok([202, 400, 401].includes(res.statusCode), `${res.statusCode} ${res.body}`);
        assert.doesNotThrow(() => res.json());
        if (auth === 'none') assert.equal(res.statusCode, 401);
      }),
      { numRuns: 150 },
    );
  });
});
