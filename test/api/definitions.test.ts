// /v1/definitions against the real API (no worker needed): listing, one definition with its source
// and versions, validation with positioned compile errors (JSON and raw YAML bodies), registration
// (created / unchanged / new version / built-in name / compile errors), who may register, the
// audit trail, and persistence across an API rebuild on the same data dir.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { buildApi } from '../../api/app.ts';
import { apiTestEnv, IDENTITIES, type ApiTestEnv, type Who } from '../support/api.ts';

const TICK = readFileSync(new URL('../fixtures/definitions/api-defs-tick.yaml', import.meta.url), 'utf8');
/** A variant of the fixture under another name (each test registers its own). */
const tick = (name: string, extra = '') => TICK.replace('name: api-defs-tick', `name: ${name}`).replace('title: API tick', `title: API tick${extra}`);

describe('definitions API', () => {
  let env: ApiTestEnv;
  before(async () => {
    env = await apiTestEnv({ worker: false });
  });
  after(() => env.close());

  const register = (who: Who | 'anonymous', source: string) => env.as(who, { method: 'POST', url: '/v1/definitions', payload: { source } });

  it('lists the built-ins with their flag; needs a token', async () => {
    const res = await env.as('nobody', { method: 'GET', url: '/v1/definitions' });
    assert.equal(res.statusCode, 200, res.body);
    const hello = res.json().definitions.find((d: { name: string }) => d.name === 'hello-world');
    assert.deepEqual(Object.keys(hello).sort(), ['builtin', 'description', 'hash', 'name', 'title', 'workflowType']);
    assert.equal(hello.builtin, true);
    assert.equal(hello.workflowType, 'helloWorld');
    assert.match(hello.hash, /^[0-9a-f]{64}$/);
    assert.equal((await env.as('anonymous', { method: 'GET', url: '/v1/definitions' })).statusCode, 401);
  });

  it('shows one definition: input schema, YAML source, versions; 404 for unknown names and versions', async () => {
    const res = await env.as('etsIt', { method: 'GET', url: '/v1/definitions/hello-world' });
    assert.equal(res.statusCode, 200, res.body);
    const { definition, versions } = res.json();
    assert.equal(definition.name, 'hello-world');
    assert.deepEqual(definition.input.required, ['name']);
    assert.match(definition.source, /^ {2}name: hello-world$/m);
    assert.deepEqual(versions, [definition.hash]);
    assert.equal((await env.as('etsIt', { method: 'GET', url: `/v1/definitions/hello-world?version=${definition.hash}` })).json().definition.hash, definition.hash);

    const unknown = await env.as('etsIt', { method: 'GET', url: '/v1/definitions/api-defs-nope' });
    assert.equal(unknown.statusCode, 404);
    assert.match(unknown.headers['content-type'] as string, /application\/problem\+json/);
    assert.match(unknown.json().detail, /no definition named 'api-defs-nope'/);
    const version = await env.as('etsIt', { method: 'GET', url: '/v1/definitions/hello-world?version=deadbeef' });
    assert.equal(version.statusCode, 404);
    assert.match(version.json().detail, /has no version deadbeef/);
  });

  it('validates a good definition (JSON or raw YAML body) without registering it', async () => {
    const json = await env.as('nobody', { method: 'POST', url: '/v1/definitions/validate', payload: { source: tick('api-defs-valid') } });
    assert.equal(json.statusCode, 200, json.body);
    assert.equal(json.json().valid, true);
    assert.equal(json.json().definition.name, 'api-defs-valid');
    assert.equal(json.json().definition.builtin, false);
    assert.deepEqual(json.json().warnings, []);

    for (const type of ['application/yaml', 'text/yaml']) {
      const raw = await env.as('nobody', { method: 'POST', url: '/v1/definitions/validate', headers: { 'content-type': type }, payload: tick('api-defs-valid') });
      assert.equal(raw.statusCode, 200, raw.body);
      assert.equal(raw.json().definition.hash, json.json().definition.hash);
    }
    assert.equal((await env.as('nobody', { method: 'GET', url: '/v1/definitions/api-defs-valid' })).statusCode, 404, 'validation stores nothing');
  });

  it('validation of a broken definition answers 422 with every error positioned', async () => {
    const broken = tick('api-defs-broken').replace('message: "tick', 'mesage: "tick');
    const res = await env.as('sre2', { method: 'POST', url: '/v1/definitions/validate', payload: { source: broken, file: 'broken.yaml' } });
    assert.equal(res.statusCode, 422, res.body);
    assert.match(res.headers['content-type'] as string, /application\/problem\+json/);
    const body = res.json();
    assert.equal(body.valid, false);
    assert.equal(body.status, 422);
    assert.deepEqual(
      body.errors.map((e: { field: string; line: number; column: number; code: string }) => [e.field, e.line, e.column, e.code]),
      [
        ['spec.steps[0].with', 21, 7, 'activity-input'],
        ['spec.steps[0].with.mesage', 22, 9, 'activity-input'],
      ],
    );
    assert.match(body.errors[1].message, /did you mean 'message'/);
    assert.match(body.detail, /^broken\.yaml:21:7: spec\.steps\[0\]\.with: missing required key 'message'/m);
    assert.match(body.detail, /^broken\.yaml:22:9: spec\.steps\[0\]\.with\.mesage: unknown key 'mesage'/m);

    const yaml = await env.as('sre2', { method: 'POST', url: '/v1/definitions/validate', headers: { 'content-type': 'application/yaml' }, payload: 'a: [1, 2\nb: c\n' });
    assert.equal(yaml.statusCode, 422);
    assert.equal(yaml.json().errors[0].code, 'yaml');
    assert.equal(yaml.json().errors[0].line, 2);
    assert.match(yaml.json().detail, /^api:2:1: YAML: /);
  });

  it('refuses a body without a source, naming the field; validation needs a token', async () => {
    const res = await env.as('admin', { method: 'POST', url: '/v1/definitions/validate', payload: {} });
    assert.equal(res.statusCode, 400);
    assert.equal(res.json().errors[0].field, 'body.source');
    assert.equal((await env.as('anonymous', { method: 'POST', url: '/v1/definitions/validate', payload: { source: TICK } })).statusCode, 401);
  });

  it('registers: 201 created, then 200 unchanged, a new version, the list and the audit trail', async () => {
    const first = await register('admin', tick('api-defs-reg'));
    assert.equal(first.statusCode, 201, first.body);
    assert.equal(first.json().created, true);
    const v1 = first.json().definition.hash;
    assert.equal(first.json().definition.builtin, false);

    const again = await register('admin', tick('api-defs-reg'));
    assert.equal(again.statusCode, 200);
    assert.deepEqual([again.json().created, again.json().definition.hash], [false, v1]);

    const second = await env.as('admin', { method: 'POST', url: '/v1/definitions', headers: { 'content-type': 'application/yaml' }, payload: tick('api-defs-reg', ' v2') });
    assert.equal(second.statusCode, 201, second.body);
    const v2 = second.json().definition.hash;
    assert.notEqual(v2, v1);

    const listed = (await env.as('operator', { method: 'GET', url: '/v1/definitions' })).json().definitions.find((d: { name: string }) => d.name === 'api-defs-reg');
    assert.deepEqual(listed, { name: 'api-defs-reg', title: 'API tick v2', description: listed.description, hash: v2, builtin: false });
    const shown = (await env.as('operator', { method: 'GET', url: '/v1/definitions/api-defs-reg' })).json();
    assert.deepEqual(shown.versions, [v1, v2]);
    assert.match(shown.definition.source, /title: API tick v2/);
    const old = (await env.as('operator', { method: 'GET', url: `/v1/definitions/api-defs-reg?version=${v1}` })).json();
    assert.equal(old.definition.source, tick('api-defs-reg'));

    const audit = (await env.as('admin', { method: 'GET', url: '/v1/audit?action=definition.register&target=api-defs-reg' })).json().entries;
    assert.deepEqual(
      audit.map((e: { actor: string; details: { hash: string; created: boolean } }) => [e.actor, e.details.hash, e.details.created]),
      [
        ['alice-admin', v2, true],
        ['alice-admin', v1, false],
        ['alice-admin', v1, true],
      ],
    );
  });

  it('refuses to register a definition that does not compile (422) or takes a built-in name (409)', async () => {
    const broken = await register('admin', tick('api-defs-bad').replace('activity: core.echo', 'activity: core.echoo'));
    assert.equal(broken.statusCode, 422);
    assert.equal(broken.json().errors[0].field, 'spec.steps[1].activity');
    assert.equal(broken.json().errors[0].code, 'unknown-activity');

    const builtin = await register('admin', tick('hello-world'));
    assert.equal(builtin.statusCode, 409, builtin.body);
    assert.equal(builtin.json().errors[0].field, 'metadata.name');
    assert.match(builtin.json().detail, /'hello-world' is a built-in definition/);
    const ids = (await env.as('admin', { method: 'GET', url: '/v1/audit?action=definition.register' })).json().entries.map((e: { target: string }) => e.target);
    assert.ok(!ids.includes('api-defs-bad') && !ids.includes('hello-world'), 'refusals are not audited as registrations');
  });

  it('only admins register (every identity)', async () => {
    for (const who of [...(Object.keys(IDENTITIES) as Who[]), 'anonymous' as const]) {
      const res = await register(who, tick(`api-defs-authz-${who.toLowerCase()}`));
      const expected = who === 'anonymous' ? 401 : (IDENTITIES[who].roles as readonly string[]).includes('admin') ? 201 : 403;
      assert.equal(res.statusCode, expected, `${who}: ${res.body}`);
    }
  });

  it('registered definitions survive an API rebuild on the same data dir', async () => {
    const res = await register('admin', tick('api-defs-persist'));
    assert.equal(res.statusCode, 201);
    const rebuilt = await buildApi({ config: env.config });
    try {
      const got = await rebuilt.inject({ method: 'GET', url: '/v1/definitions/api-defs-persist', headers: { authorization: `Bearer ${env.tokens.nobody}` } });
      assert.equal(got.statusCode, 200, got.body);
      assert.equal(got.json().definition.hash, res.json().definition.hash);
      assert.equal(got.json().definition.source, tick('api-defs-persist'));
      const list = await rebuilt.inject({ method: 'GET', url: '/v1/definitions', headers: { authorization: `Bearer ${env.tokens.nobody}` } });
      const names = list.json().definitions.map((d: { name: string }) => d.name);
      assert.ok(names.includes('api-defs-persist') && names.includes('api-defs-reg') && names.includes('hello-world'), names.join());
    } finally {
      await rebuilt.close();
    }
  });

  it('documents the routes in OpenAPI', async () => {
    const doc = (await env.as('anonymous', { method: 'GET', url: '/docs/json' })).json();
    assert.ok(doc.paths['/v1/definitions'].get && doc.paths['/v1/definitions'].post);
    assert.ok(doc.paths['/v1/definitions/validate'].post.requestBody.content['application/yaml']);
    assert.ok(doc.paths['/v1/definitions/{name}'].get);
  });
});
