// Fuzzing every route of the OpenAPI document with random paths parameters, query strings and
// bodies (fast-check): whatever the input, the API answers with a 2xx/4xx and a JSON body — never
// a 5xx, never a crash.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { apiTestEnv, type ApiTestEnv, type Who } from '../support/api.ts';

interface Operation {
  method: 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';
  path: string;
}

const RUNS = Number(process.env.CEDILLE_FUZZ_RUNS ?? 300);
const WHO: (Who | 'anonymous')[] = ['admin', 'operator', 'sre', 'nobody', 'anonymous'];

describe('API fuzzing', () => {
  let env: ApiTestEnv;
  let operations: Operation[];
  before(async () => {
    env = await apiTestEnv({ worker: false });
    const doc = (await env.as('anonymous', { method: 'GET', url: '/docs/json' })).json() as { paths: Record<string, Record<string, unknown>> };
    operations = Object.entries(doc.paths).flatMap(([path, methods]) =>
      Object.keys(methods)
        .filter((m) => ['get', 'post', 'put', 'patch', 'delete'].includes(m))
        .map((m) => ({ method: m.toUpperCase() as Operation['method'], path })),
    );
  });
  after(() => env.close());

  it('never answers 5xx, whatever the parameters and body', { timeout: 180_000 }, async () => {
    assert.ok(operations.length >= 3, `only ${operations.length} operations in the OpenAPI document`);
    const segment = fc.oneof(fc.string({ maxLength: 40 }), fc.constantFrom('x', '..', '%00', 'a'.repeat(300), 'hello-world', '💥'));
    const body = fc.oneof(fc.jsonValue({ maxDepth: 4 }), fc.record({ definition: fc.string(), input: fc.jsonValue({ maxDepth: 3 }), source: fc.string(), comment: fc.string(), cron: fc.string(), id: fc.string() }, { requiredKeys: [] }));
    await fc.assert(
      fc.asyncProperty(fc.constantFrom(...operations), fc.array(segment, { minLength: 3, maxLength: 3 }), fc.dictionary(fc.string({ maxLength: 10 }), fc.string({ maxLength: 20 }), { maxKeys: 3 }), body, fc.constantFrom(...WHO), fc.boolean(), async (op, params, query, payload, who, raw) => {
        let i = 0;
        const url = op.path.replace(/\{[^}]+\}/g, () => encodeURIComponent(params[i++ % params.length] || 'x'));
        const qs = new URLSearchParams(query).toString();
        const res = await env.as(who, {
          method: op.method,
          url: qs ? `${url}?${qs}` : url,
          ...(op.method === 'GET' || op.method === 'DELETE' ? {} : raw ? { payload: JSON.stringify(payload).slice(0, 200), headers: { 'content-type': 'application/json' } } : { payload: payload as object }),
        });
        assert.ok(res.statusCode < 500, `${op.method} ${url} as ${who} -> ${res.statusCode}: ${res.body.slice(0, 300)}`);
      }),
      { numRuns: RUNS },
    );
  });
});
