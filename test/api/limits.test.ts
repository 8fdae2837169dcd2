// Request limits: bodies past the configured size are a 413 problem, and mutating routes are rate
// limited per caller (429 with Retry-After) while reads are not.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { apiTestEnv, type ApiTestEnv } from '../support/api.ts';

describe('request limits', () => {
  let env: ApiTestEnv;
  before(async () => {
    env = await apiTestEnv({ worker: false, env: { API_BODY_LIMIT: '2048', API_RATE_LIMIT_MAX: '3', API_RATE_LIMIT_WINDOW_MS: '60000' } });
  });
  after(() => env.close());

  it('refuses a body over the limit with a 413 problem', async () => {
    const res = await env.as('admin', { method: 'POST', url: '/v1/definitions/validate', payload: { source: 'x'.repeat(4096) } });
    assert.equal(res.statusCode, 413);
    assert.match(String(res.headers['content-type']), /application\/problem\+json/);
    assert.equal(res.json().status, 413);
  });

  it('rate-limits mutating routes per caller, not reads', async () => {
    const validate = (who: 'operator' | 'sre') => env.as(who, { method: 'POST', url: '/v1/definitions/validate', payload: { source: 'kind: nothing' } });
    const statuses = [];
    for (let i = 0; i < 4; i++) statuses.push((await validate('operator')).statusCode);
    assert.deepEqual(statuses, [422, 422, 422, 429]);
    const limited = await validate('operator');
    assert.equal(limited.statusCode, 429);
    assert.match(String(limited.headers['content-type']), /application\/problem\+json/);
    assert.ok(Number(limited.headers['retry-after']) > 0);
    // Another caller has a budget of its own; reads are not limited.
    assert.equal((await validate('sre')).statusCode, 422);
    for (let i = 0; i < 6; i++) assert.equal((await env.as('operator', { method: 'GET', url: '/v1/definitions' })).statusCode, 200);
  });
});
