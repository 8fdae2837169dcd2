// Authentication against a real JWKS endpoint (a local HTTP server publishing our test key), static
// tokens, and the access levels routes declare.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SignJWT, exportJWK, generateKeyPair, type JWK } from 'jose';
import type { FastifyInstance } from 'fastify';
import { buildApi } from '../../api/app.ts';
import { apiConfigFromEnv } from '../../api/config.ts';
import { identityFromClaims } from '../../api/auth/oidc.ts';
import { apiTestEnv, type ApiTestEnv } from '../support/api.ts';

const ISSUER = 'https://sso.cedille.test/realms/cedille';
const AUDIENCE = 'cedille-workflows';

describe('OIDC bearer tokens (JWKS over HTTP)', () => {
  let jwks: Server;
  let app: FastifyInstance;
  const apps: FastifyInstance[] = [];
  let oidcApi: (env?: Record<string, string>) => Promise<FastifyInstance>;
  let sign: (claims: Record<string, unknown>, opts?: { exp?: string; iss?: string; aud?: string; key?: 'good' | 'other' }) => Promise<string>;

  before(async () => {
    const good = await generateKeyPair('RS256');
    const other = await generateKeyPair('RS256');
    const jwk: JWK = { ...(await exportJWK(good.publicKey)), kid: 'k1', alg: 'RS256', use: 'sig' };
    jwks = createServer((_req, res) => res.setHeader('content-type', 'application/json').end(JSON.stringify({ keys: [jwk] })));
    await new Promise<void>((r) => jwks.listen(0, '127.0.0.1', r));
    const port = (jwks.address() as { port: number }).port;
    sign = (claims, opts = {}) =>
      new SignJWT(claims)
        .setProtectedHeader({ alg: 'RS256', kid: 'k1' })
        .setIssuer(opts.iss ?? ISSUER)
        .setAudience(opts.aud ?? AUDIENCE)
        .setIssuedAt()
        .setExpirationTime(opts.exp ?? '5m')
        .sign(opts.key === 'other' ? other.privateKey : good.privateKey);
    oidcApi = async (env = {}) => {
      const config = apiConfigFromEnv({
        TEMPORAL_ADDRESS: process.env.TEMPORAL_ADDRESS!,
        CEDILLE_DATA_DIR: mkdtempSync(join(tmpdir(), 'cedille-auth-')),
        OIDC_ISSUER: ISSUER,
        OIDC_AUDIENCE: AUDIENCE,
        OIDC_JWKS_URL: `http://127.0.0.1:${port}/certs`,
        ...env,
      });
      const built = await buildApi({ config });
      apps.push(built);
      return built;
    };
    // Keycloak realm roles, asked for explicitly.
    app = await oidcApi({ OIDC_ROLES_CLAIM: 'realm_access.roles' });
  });
  after(async () => {
    for (const a of apps) await a.close();
    jwks.close();
  });

  const auditOn = (api: FastifyInstance, token?: string) => api.inject({ method: 'GET', url: '/v1/audit', headers: token ? { authorization: `Bearer ${token}` } : {} });
  const audit = (token?: string) => auditOn(app, token);

  it('accepts a valid token with the admin role (Keycloak realm roles)', async () => {
    const res = await audit(await sign({ sub: 'u-1', preferred_username: 'alice', realm_access: { roles: ['admin'] } }));
    assert.equal(res.statusCode, 200, res.body);
  });

  it('realm roles count only when OIDC_ROLES_CLAIM asks for them', async () => {
    const realmAdmin = await sign({ sub: 'u-realm', realm_access: { roles: ['admin'] } });
    // Client roles configured: a realm role of the same name is not a role here.
    const clientRoles = await oidcApi({ OIDC_ROLES_CLAIM: 'resource_access.cedille-workflows.roles' });
    const refused = await auditOn(clientRoles, realmAdmin);
    assert.equal(refused.statusCode, 403, refused.body);
    assert.match(refused.json().detail, /u-realm may not do this \(needs admin\)/);
    assert.equal((await auditOn(clientRoles, await sign({ sub: 'u-client', resource_access: { 'cedille-workflows': { roles: ['admin'] } } }))).statusCode, 200);
    // Default claim `roles`: realm roles do not count either.
    const byDefault = await oidcApi();
    assert.equal((await auditOn(byDefault, realmAdmin)).statusCode, 403);
    assert.equal((await auditOn(byDefault, await sign({ sub: 'u-roles', roles: ['admin'] }))).statusCode, 200);
  });

  it('refuses a valid token without the role with 403', async () => {
    const res = await audit(await sign({ sub: 'u-2', groups: ['/sre'] }));
    assert.equal(res.statusCode, 403);
    assert.match(res.json().detail, /u-2 may not do this \(needs admin\)/);
  });

  for (const [what, token, reason] of [
    ['an expired token', () => sign({ sub: 'u', roles: ['admin'] }, { exp: '-10m' }), /exp/],
    ['another issuer', () => sign({ sub: 'u', roles: ['admin'] }, { iss: 'https://evil.test' }), /iss/],
    ['another audience', () => sign({ sub: 'u', roles: ['admin'] }, { aud: 'someone-else' }), /aud/],
    ['a key not in the JWKS', () => sign({ sub: 'u', roles: ['admin'] }, { key: 'other' }), /signature|key/i],
  ] as const) {
    it(`refuses ${what} with 401`, async () => {
      const res = await audit(await token());
      assert.equal(res.statusCode, 401);
      assert.match(String(res.headers['www-authenticate']), /invalid_token/);
      assert.match(res.json().detail, reason);
    });
  }

  it('refuses a missing or malformed bearer with 401 and a problem body', async () => {
    for (const res of [await audit(), await audit('not-a-jwt')]) {
      assert.equal(res.statusCode, 401);
      assert.match(String(res.headers['content-type']), /application\/problem\+json/);
    }
  });

  it('dev tokens are not accepted once OIDC is configured', async () => {
    const { tokens } = apiConfigFromEnv({ CEDILLE_DATA_DIR: mkdtempSync(join(tmpdir(), 'cedille-auth-')) });
    assert.ok(tokens, 'on loopback, without OIDC, the dev tokens exist');
    assert.equal((await audit(tokens.admin)).statusCode, 401);
  });
});

describe('claims mapping', () => {
  it('reads roles and groups from GitHub-style and Keycloak-style claims', () => {
    assert.deepEqual(identityFromClaims({ sub: '42', login: 'octocat', roles: 'operator admin', groups: ['sre'] }, {}), {
      subject: '42',
      name: 'octocat',
      roles: ['admin', 'operator'],
      groups: ['sre'],
      via: 'oidc',
    });
    assert.deepEqual(identityFromClaims({ sub: 'k', realm_access: { roles: ['operator', 'offline_access'] }, groups: ['/ets-it', '/sre'] }, {}).groups, ['ets-it', 'sre']);
    assert.throws(() => identityFromClaims({}, {}), /sub/);
  });
});

describe('static tokens and access levels', () => {
  let env: ApiTestEnv;
  before(async () => {
    env = await apiTestEnv({ worker: false });
  });
  after(() => env.close());

  it('public routes need no token; others do', async () => {
    assert.equal((await env.as('anonymous', { method: 'GET', url: '/healthz' })).statusCode, 200);
    assert.equal((await env.as('anonymous', { method: 'GET', url: '/metrics' })).statusCode, 200);
    assert.equal((await env.as('anonymous', { method: 'GET', url: '/docs/json' })).statusCode, 200);
    assert.equal((await env.as('anonymous', { method: 'GET', url: '/v1/audit' })).statusCode, 401);
  });

  it('admin-only routes refuse everyone else with 403', async () => {
    assert.equal((await env.as('admin', { method: 'GET', url: '/v1/audit' })).statusCode, 200);
    for (const who of ['operator', 'etsIt', 'sre', 'nobody'] as const) assert.equal((await env.as(who, { method: 'GET', url: '/v1/audit' })).statusCode, 403, who);
  });

  it('invalid query parameters name the field', async () => {
    const res = await env.as('admin', { method: 'GET', url: '/v1/audit?limit=0' });
    assert.equal(res.statusCode, 400);
    assert.equal(res.json().errors[0].field, 'querystring.limit');
  });

  it('the OpenAPI document declares bearer security and the Problem schema', async () => {
    const doc = (await env.as('anonymous', { method: 'GET', url: '/docs/json' })).json();
    assert.equal(doc.components.securitySchemes.bearer.scheme, 'bearer');
    assert.ok(doc.paths['/v1/audit'].get);
  });
});
