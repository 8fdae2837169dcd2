import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { devTokensFile, ensureStaticTokensFile, loadDevTokens } from '../../api/dev-tokens.ts';
import { apiConfigFromEnv, isLoopbackHost } from '../../api/config.ts';
import { buildApi } from '../../api/app.ts';
import { repoFile, runWithFileSizeLimit } from '../support/file-size-limit.ts';

describe('dev tokens', () => {
  it('are created once per data dir, private, and stable across loads', () => {
    const dir = join(mkdtempSync(join(tmpdir(), 'cedille-data-')), 'nested');
    const first = loadDevTokens(dir);
    assert.match(first.admin, /^cedille_admin_[\w-]{32}$/);
    assert.match(first.approver, /^cedille_approver_[\w-]{32}$/);
    assert.equal(statSync(devTokensFile(dir)).mode & 0o777, 0o600);
    assert.deepEqual(loadDevTokens(dir), first);
  });

  it('differ between data dirs', () => {
    const a = loadDevTokens(mkdtempSync(join(tmpdir(), 'cedille-data-')));
    const b = loadDevTokens(mkdtempSync(join(tmpdir(), 'cedille-data-')));
    assert.notEqual(a.admin, b.admin);
  });

  it('a damaged file is an error naming the file, never silently replaced', () => {
    const dir = mkdtempSync(join(tmpdir(), 'cedille-data-'));
    writeFileSync(devTokensFile(dir), '{"admin":"short"}');
    assert.throws(() => loadDevTokens(dir), (err: Error) => err.message.startsWith(devTokensFile(dir)));
  });

  it('a creation cut short (crash, full disk) leaves no file: the next start creates whole tokens and link secret', () => {
    const dir = mkdtempSync(join(tmpdir(), 'cedille-data-'));
    const script = `import { apiConfigFromEnv } from ${JSON.stringify(repoFile('api/config.ts'))}; apiConfigFromEnv({ CEDILLE_DATA_DIR: ${JSON.stringify(dir)} });`;
    const crashed = runWithFileSizeLimit(script, 0);
    assert.notEqual(crashed.status, 0);
    assert.deepEqual(readdirSync(dir), [], 'neither an empty dev-tokens.json nor an empty link-secret');
    const config = apiConfigFromEnv({ CEDILLE_DATA_DIR: dir });
    assert.deepEqual(config.tokens, loadDevTokens(dir));
    assert.equal(Buffer.from(config.linkSecret, 'base64url').length, 32);
  });
});

describe('where the dev tokens are accepted', () => {
  const staticTokensFile = (dir: string) => {
    const file = join(dir, 'api-tokens.json');
    writeFileSync(file, JSON.stringify([{ token: 'ci_robot_token_0123456789abcdefghijkl', subject: 'ci-robot', roles: ['admin'] }]));
    return file;
  };

  it('loopback addresses are recognised; wildcard and routable ones are not', () => {
    for (const host of ['127.0.0.1', '127.1.2.3', '::1', '[::1]', 'localhost', '::ffff:127.0.0.1']) assert.equal(isLoopbackHost(host), true, host);
    for (const host of ['0.0.0.0', '::', '10.0.0.5', 'api.cedille.club', '::ffff:10.0.0.1']) assert.equal(isLoopbackHost(host), false, host);
  });

  it('on 0.0.0.0 the dev tokens are refused (not even created); static tokens still work', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'cedille-data-'));
    const dev = loadDevTokens(dir); // as an earlier `npm start` on this data dir left them
    const config = apiConfigFromEnv({ CEDILLE_DATA_DIR: dir, API_HOST: '0.0.0.0', CEDILLE_API_TOKENS_FILE: staticTokensFile(dir) });
    assert.equal(config.devTokens, 'off');
    assert.equal(config.tokens, undefined);
    const app = await buildApi({ config });
    try {
      const audit = (token: string) => app.inject({ method: 'GET', url: '/v1/audit', headers: { authorization: `Bearer ${token}` } });
      assert.equal((await audit(dev.admin)).statusCode, 401);
      assert.equal((await audit(dev.approver)).statusCode, 401);
      assert.equal((await audit('ci_robot_token_0123456789abcdefghijkl')).statusCode, 200);
    } finally {
      await app.close();
    }
    const fresh = mkdtempSync(join(tmpdir(), 'cedille-data-'));
    apiConfigFromEnv({ CEDILLE_DATA_DIR: fresh, API_HOST: '0.0.0.0', CEDILLE_API_TOKENS_FILE: staticTokensFile(fresh) });
    assert.equal(existsSync(devTokensFile(fresh)), false);
  });

  it('ensureStaticTokensFile (docker compose) makes a private tokens file once, which a non-loopback API accepts', () => {
    const dir = mkdtempSync(join(tmpdir(), 'cedille-data-'));
    const file = join(dir, 'api-tokens.json');
    const tokens = ensureStaticTokensFile(file);
    assert.equal(statSync(file).mode & 0o777, 0o600);
    assert.deepEqual(ensureStaticTokensFile(file), tokens, 'kept, not regenerated');
    const config = apiConfigFromEnv({ CEDILLE_DATA_DIR: dir, API_HOST: '0.0.0.0', CEDILLE_API_TOKENS_FILE: file });
    assert.deepEqual(config.staticTokens.map((t) => t.subject), ['dev-admin', 'dev-approver']);
  });

  it('with no other credential a non-loopback API refuses to start, naming the ways out', () => {
    const dir = mkdtempSync(join(tmpdir(), 'cedille-data-'));
    assert.throws(() => apiConfigFromEnv({ CEDILLE_DATA_DIR: dir, API_HOST: '0.0.0.0' }), /accept no credential: it listens on 0\.0\.0\.0, not a loopback address.*OIDC_ISSUER.*CEDILLE_API_TOKENS_FILE.*CEDILLE_DEV_TOKENS=1/);
    assert.throws(() => apiConfigFromEnv({ CEDILLE_DATA_DIR: dir, CEDILLE_DEV_TOKENS: '0' }), /CEDILLE_DEV_TOKENS=0 turns the dev tokens off/);
    assert.throws(() => apiConfigFromEnv({ CEDILLE_DATA_DIR: dir, API_HOST: '0.0.0.0', CEDILLE_DEV_TOKENS: 'sure' }), /CEDILLE_DEV_TOKENS=sure: expected 1/);
    assert.throws(() => apiConfigFromEnv({ CEDILLE_DATA_DIR: dir, CEDILLE_DEV_TOKENS: '1', OIDC_ISSUER: 'https://sso.example' }), /never accepted with OIDC/);
  });

  it('CEDILLE_DEV_TOKENS=1 opts in on any address; loopback needs no opt-in', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'cedille-data-'));
    const optIn = apiConfigFromEnv({ CEDILLE_DATA_DIR: dir, API_HOST: '0.0.0.0', CEDILLE_DEV_TOKENS: '1' });
    assert.equal(optIn.devTokens, 'opt-in');
    const app = await buildApi({ config: optIn });
    try {
      assert.equal((await app.inject({ method: 'GET', url: '/v1/audit', headers: { authorization: `Bearer ${optIn.tokens!.admin}` } })).statusCode, 200);
    } finally {
      await app.close();
    }
    assert.equal(apiConfigFromEnv({ CEDILLE_DATA_DIR: dir }).devTokens, 'loopback');
  });
});
