import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { banner, type BannerInfo } from '../../infra/embedded/banner.ts';

const base: BannerInfo = {
  temporalAddress: '127.0.0.1:7233',
  namespace: 'default',
  taskQueue: 'cedille-workflows',
  apiUrl: 'http://127.0.0.1:3000',
  dataDir: '/srv/data',
  tokens: { admin: 'cedille_admin_A', approver: 'cedille_approver_B' },
  cli: '/opt/temporal',
};

describe('start banner', () => {
  it('gives the URLs, tokens and a copy-pastable helloWorld command', () => {
    const text = banner({ ...base, uiUrl: 'http://127.0.0.1:8233' });
    assert.match(text, /Temporal UI +http:\/\/127\.0\.0\.1:8233\n/);
    assert.match(text, /API +http:\/\/127\.0\.0\.1:3000 /);
    assert.match(text, /Admin token +cedille_admin_A /);
    assert.match(text, /Approver token +cedille_approver_B /);
    assert.ok(text.includes('CEDILLE_API_URL=http://127.0.0.1:3000 CEDILLE_TOKEN=cedille_admin_A npm run -s cedille -- run hello-world --set name=Ada --watch\n'));
    assert.ok(text.includes(`/opt/temporal workflow start --type helloWorld --task-queue cedille-workflows --input '{"name":"Ada"}' --address 127.0.0.1:7233\n`));
    assert.ok(text.includes('http://127.0.0.1:8233/namespaces/default/workflows/start-workflow?workflowType=helloWorld&taskQueue=cedille-workflows'));
  });

  it('names a non-default namespace in the command and has no UI link for an external server', () => {
    const text = banner({ ...base, namespace: 'platform' });
    assert.match(text, /--address 127\.0\.0\.1:7233 --namespace platform\n/);
    assert.doesNotMatch(text, /start-workflow/);
    assert.match(text, /Temporal UI +\(not managed here/);
  });

  it('shouts when the dev tokens are live on a non-loopback address, and prints none when they are off', () => {
    const optIn = banner({ ...base, apiUrl: 'http://0.0.0.0:3000', devTokens: 'opt-in' });
    assert.match(optIn, /WARNING: CEDILLE_DEV_TOKENS=1 - the dev tokens below are live on http:\/\/0\.0\.0\.0:3000, which is NOT a loopback address/);
    assert.doesNotMatch(banner({ ...base, devTokens: 'loopback' }), /WARNING/);
    const { tokens: _none, ...withoutTokens } = base;
    const off = banner({ ...withoutTokens, devTokens: 'off' });
    assert.match(off, /Tokens +\(dev tokens off/);
    assert.match(off, /CEDILLE_TOKEN=<your token> /);
  });
});
