// Rate limits of anonymous callers behind a proxy (issue 12): the approval page is limited per link,
// so junk from one shared address (an Ingress, a NAT) cannot lock approvers out of their links, and
// API_TRUST_PROXY makes the client address (X-Forwarded-For from a trusted proxy) the key elsewhere.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { apiTestEnv, type ApiTestEnv } from '../support/api.ts';
import { signLink } from '../../api/links/token.ts';
import { trustProxyFromEnv } from '../../api/trust-proxy.ts';

const LIMIT = { API_RATE_LIMIT_MAX: '3', API_RATE_LIMIT_WINDOW_MS: '600000' };
const PROXY = '10.0.0.1';

function link(env: ApiTestEnv): string {
  return signLink({ workflowId: `wf-${randomUUID()}`, stepId: 'review', approver: 'edith', exp: Math.floor(Date.now() / 1000) + 3600, nonce: randomUUID() }, env.config.linkSecret);
}

const page = (env: ApiTestEnv, token: string, remoteAddress: string, client?: string) =>
  env.app.inject({ method: 'GET', url: `/approve/${token}`, remoteAddress, headers: client ? { 'x-forwarded-for': client } : {} });

describe('approval page: limited per link', () => {
  let env: ApiTestEnv;
  before(async () => {
    env = await apiTestEnv({ worker: false, env: LIMIT });
  });
  after(() => env.close());

  it('junk from a shared address exhausts only its own budget; every link keeps its own', async () => {
    const junk = [];
    for (let i = 0; i < 10; i++) junk.push((await page(env, `junk-${i}.AAAA`, PROXY)).statusCode);
    assert.deepEqual(junk, [400, 400, 400, 429, 429, 429, 429, 429, 429, 429]);
    // The same shared address, a real link: answered, not 429.
    const mine = link(env);
    const statuses = [];
    for (let i = 0; i < 4; i++) statuses.push((await page(env, mine, PROXY)).statusCode);
    assert.ok(!statuses.slice(0, 3).includes(429), `a valid link is not locked out by junk: ${statuses}`);
    // A link hammered past its budget is limited itself, without touching another approver's link.
    assert.equal(statuses[3], 429);
    assert.notEqual((await page(env, link(env), PROXY)).statusCode, 429);
  });
});

describe('API_TRUST_PROXY', () => {
  let behindProxy: ApiTestEnv;
  let byCidr: ApiTestEnv;
  before(async () => {
    behindProxy = await apiTestEnv({ worker: false, env: { ...LIMIT, API_TRUST_PROXY: '1' } });
    byCidr = await apiTestEnv({ worker: false, env: { ...LIMIT, API_TRUST_PROXY: '10.0.0.0/8' } });
  });
  after(async () => {
    await behindProxy.close();
    await byCidr.close();
  });

  it('with a hop count, each client behind the proxy has its own budget', async () => {
    for (let i = 0; i < 3; i++) assert.equal((await page(behindProxy, 'junk.AAAA', PROXY, '198.51.100.1')).statusCode, 400);
    assert.equal((await page(behindProxy, 'junk.AAAA', PROXY, '198.51.100.1')).statusCode, 429);
    assert.equal((await page(behindProxy, 'junk.AAAA', PROXY, '198.51.100.2')).statusCode, 400, 'another client is not limited');
  });

  it('with CIDRs, only a trusted peer is believed: a caller cannot pick its address with X-Forwarded-For', async () => {
    const statuses = [];
    for (let i = 0; i < 4; i++) statuses.push((await page(byCidr, 'junk.AAAA', '192.0.2.9', `198.51.100.${i + 10}`)).statusCode);
    assert.deepEqual(statuses, [400, 400, 400, 429]);
    assert.equal((await page(byCidr, 'junk.AAAA', PROXY, '198.51.100.50')).statusCode, 400, 'through the trusted proxy the client is its own');
  });

  it('parses hop counts, addresses, CIDRs and names; refuses true and garbage naming the variable', () => {
    assert.equal(trustProxyFromEnv(undefined), false);
    assert.equal(trustProxyFromEnv('0'), false);
    assert.equal(trustProxyFromEnv('2'), 2);
    assert.deepEqual(trustProxyFromEnv('10.42.0.0/16, 127.0.0.1,loopback,fd00::/8'), ['10.42.0.0/16', '127.0.0.1', 'loopback', 'fd00::/8']);
    assert.throws(() => trustProxyFromEnv('true'), /API_TRUST_PROXY=true would let any caller choose its address/);
    assert.throws(() => trustProxyFromEnv('10.0.0.0/33,ingress'), /API_TRUST_PROXY: 10\.0\.0\.0\/33, ingress is not a hop count/);
  });
});
