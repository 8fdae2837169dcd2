// core.http's limits against local HTTP servers on 127.0.0.1 (and the dev OpenBao holding the
// secrets its headers reference): a redirect to a host outside CEDILLE_HTTP_ALLOW is refused before
// the target is contacted; headers read from Vault never follow a redirect to another origin; an
// answer larger than CEDILLE_HTTP_MAX_RESPONSE_BYTES is refused; a server that never finishes its
// answer is cut at timeoutMs.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes, randomUUID } from 'node:crypto';
import { ApplicationFailure } from '@temporalio/common';
import { forgetSecrets } from '../../activities/_secrets.ts';
import http from '../../activities/core/http.ts';
import { activityFailure, callActivity, json, localServer, type LocalServer } from './_support.ts';

const VAULT = process.env.CEDILLE_TEST_VAULT_ADDR!;
const ROOT = process.env.CEDILLE_TEST_VAULT_TOKEN!;
const PATH = `secret/data/cedille-http-${randomUUID()}`;
const SECRET = `s3cr3t-${randomBytes(16).toString('hex')}`;
const saved = { VAULT_ADDR: process.env.VAULT_ADDR, VAULT_TOKEN: process.env.VAULT_TOKEN, CEDILLE_HTTP_ALLOW: process.env.CEDILLE_HTTP_ALLOW };

let origin: LocalServer; // allow-listed: where the runs send their requests
let other: LocalServer; // allow-listed too, another origin
let outside: LocalServer; // not allow-listed (an internal service)

const echo = (req: { headers: Record<string, unknown>; method: string }, res: Parameters<typeof json>[0]) => json(res, 200, { method: req.method, headers: req.headers });

before(async () => {
  assert.ok(VAULT && ROOT, 'run through test/run.ts: the dev OpenBao is started for *.vault.* files');
  const res = await fetch(`${VAULT}/v1/${PATH}`, { method: 'POST', headers: { 'x-vault-token': ROOT }, body: JSON.stringify({ data: { key: SECRET } }) });
  assert.equal(res.status, 200);
  other = await localServer(echo);
  outside = await localServer(echo);
  origin = await localServer((req, res) => {
    const redirect = (status: number, location: string) => void res.writeHead(status, { location }).end();
    switch (req.url) {
      case '/to-outside': return redirect(302, outside.url('/steal'));
      case '/to-metadata': return redirect(302, 'http://169.254.169.254/computeMetadata/v1/instance/service-accounts/default/token');
      case '/to-other': return redirect(307, other.url('/landing'));
      case '/to-self': return redirect(302, '/landing');
      case '/loop': return redirect(302, '/loop');
      case '/landing': return echo(req, res);
      case '/big': { // 2 MiB, chunked: no content-length to trust
        res.writeHead(200, { 'content-type': 'text/plain' });
        for (let i = 0; i < 32; i++) res.write('x'.repeat(64 * 1024));
        return void res.end();
      }
      case '/declared': return void res.writeHead(200, { 'content-type': 'text/plain', 'content-length': '2000' }).end('y'.repeat(2000));
      case '/small': return void res.writeHead(200, { 'content-type': 'text/plain' }).end('z'.repeat(500));
      case '/slow': // headers and a first byte at once, then nothing: the body never ends
        res.writeHead(200, { 'content-type': 'text/plain' });
        return void res.write('a');
      default: return void res.writeHead(404).end();
    }
  });
  process.env.VAULT_ADDR = VAULT;
  process.env.VAULT_TOKEN = ROOT;
  process.env.CEDILLE_HTTP_ALLOW = `${origin.host},${other.host}`;
  forgetSecrets();
});

after(async () => {
  for (const [k, v] of Object.entries(saved)) {
    if (v === undefined) delete process.env[k];
    else process.env[k] = v;
  }
  forgetSecrets();
  await Promise.all([origin?.close(), other?.close(), outside?.close()]);
});

const secretHeaders = { 'X-Api-Key': `vault:${PATH}#key`, Authorization: { vault: `${PATH}#key`, prefix: 'Bearer ' }, 'X-Trace': 'abc' };

describe('core.http redirects', () => {
  it('refuses a redirect to a host outside the allow-list: the target receives nothing', async () => {
    const f = await activityFailure(http, { url: origin.url('/to-outside'), headers: secretHeaders, timeoutMs: 5_000 });
    assert.equal(f.type, 'HostNotAllowed');
    assert.equal(f.nonRetryable, true);
    assert.match(f.message, new RegExp(`redirect from ${origin.host} to host ${outside.host} is not in CEDILLE_HTTP_ALLOW`));
    assert.deepEqual(outside.requests, []);
  });

  it('refuses a redirect to the cloud metadata address', async () => {
    const f = await activityFailure(http, { url: origin.url('/to-metadata'), timeoutMs: 2_000 });
    assert.equal(f.type, 'HostNotAllowed');
    assert.match(f.message, /to host 169\.254\.169\.254 is not in CEDILLE_HTTP_ALLOW/);
  });

  it('follows a redirect to another allowed origin without the headers read from Vault', async () => {
    const out = (await callActivity(http, { url: origin.url('/to-other'), headers: secretHeaders })) as { status: number; body: { headers: Record<string, string> } };
    assert.equal(out.status, 200);
    assert.equal(other.requests.length, 1);
    const seen = other.requests[0]!.headers;
    assert.equal(seen['x-trace'], 'abc', 'plain headers follow');
    assert.equal(seen['x-api-key'], undefined);
    assert.equal(seen.authorization, undefined);
    assert.ok(!JSON.stringify(seen).includes(SECRET), 'the secret reached the second origin');
  });

  it('keeps the headers read from Vault on a redirect within the same origin', async () => {
    const out = (await callActivity(http, { url: origin.url('/to-self'), headers: secretHeaders })) as { body: { headers: Record<string, string> } };
    assert.equal(out.body.headers['x-api-key'], SECRET);
    assert.equal(out.body.headers.authorization, `Bearer ${SECRET}`);
  });

  it('gives up after a bounded number of redirects (TooManyRedirects)', async () => {
    const f = await activityFailure(http, { url: origin.url('/loop') });
    assert.equal(f.type, 'TooManyRedirects');
    assert.match(f.message, /more than 5 redirects/);
  });
});

describe('core.http answer limits', () => {
  it('refuses an answer above 1 MiB (HttpResponseTooLarge naming the cap)', async () => {
    const f = await activityFailure(http, { url: origin.url('/big') });
    assert.equal(f.type, 'HttpResponseTooLarge');
    assert.equal(f.nonRetryable, true);
    assert.match(f.message, /exceeds 1048576 bytes \(CEDILLE_HTTP_MAX_RESPONSE_BYTES\)/);
  });

  it('takes its cap from CEDILLE_HTTP_MAX_RESPONSE_BYTES', async () => {
    process.env.CEDILLE_HTTP_MAX_RESPONSE_BYTES = '1000';
    try {
      const f = await activityFailure(http, { url: origin.url('/declared') });
      assert.equal(f.type, 'HttpResponseTooLarge');
      assert.match(f.message, /exceeds 1000 bytes/);
      const ok = (await callActivity(http, { url: origin.url('/small') })) as { body: string };
      assert.equal(ok.body.length, 500);
    } finally {
      delete process.env.CEDILLE_HTTP_MAX_RESPONSE_BYTES;
    }
  });

  it('cuts a server that never finishes its answer at timeoutMs (retryable HttpTimeout)', async () => {
    const f = await activityFailure(http, { url: origin.url('/slow'), timeoutMs: 300 });
    assert.ok(f instanceof ApplicationFailure);
    assert.equal(f.type, 'HttpTimeout');
    assert.equal(f.nonRetryable, false);
    assert.match(f.message, /no complete answer within 300 ms/);
  });
});
