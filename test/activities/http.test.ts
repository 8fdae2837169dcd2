// core.http called directly (our own ActivityContext) against a local server on 127.0.0.1: the
// allow-list, JSON in and out, non-2xx results, retryable statuses, the timeout.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { ApplicationFailure } from '@temporalio/common';
import http from '../../activities/core/http.ts';
import { callActivity, json, localServer, type LocalServer } from './_support.ts';

let server: LocalServer;

before(async () => {
  server = await localServer((req, res) => {
    switch (req.url) {
      case '/json':
        return json(res, 200, { hello: 'world', n: 1 });
      case '/echo':
        return json(res, 201, { method: req.method, contentType: req.headers['content-type'], trace: req.headers['x-trace'], body: JSON.parse(req.body) });
      case '/missing':
        return void res.writeHead(404, { 'content-type': 'text/plain' }).end('no such thing');
      case '/unavailable':
        return json(res, 503, { error: 'down' });
      case '/throttled':
        return void res.writeHead(429, { 'retry-after': '1' }).end();
      case '/hang':
        return; // never answers; close() drops the connection
      default:
        return void res.writeHead(500).end();
    }
  });
  process.env.CEDILLE_HTTP_ALLOW = ` other.example , ${server.host}`;
});

after(async () => {
  delete process.env.CEDILLE_HTTP_ALLOW;
  await server?.close();
});

async function failure(p: Promise<unknown>): Promise<ApplicationFailure> {
  const err = await p.then(
    (out) => assert.fail(`expected a failure, got ${JSON.stringify(out)}`),
    (e: unknown) => e,
  );
  assert.ok(err instanceof ApplicationFailure, `expected an ApplicationFailure, got ${String(err)}`);
  return err;
}

describe('core.http', { concurrency: true }, () => {
  for (const { what, url } of [
    { what: 'a host not in the list', url: 'http://127.0.0.2/x' },
    { what: 'an allowed address on another port', url: 'http://127.0.0.1:1/x' },
  ]) {
    // Refused before any request: a call would fail with a connection error instead.
    it(`refuses ${what} (non-retryable HostNotAllowed)`, async () => {
      const f = await failure(callActivity(http, { url }));
      assert.equal(f.type, 'HostNotAllowed');
      assert.equal(f.nonRetryable, true);
      assert.match(f.message, /host 127\.0\.0\.\d(:1)? is not in CEDILLE_HTTP_ALLOW/);
    });
  }

  it('GETs and parses a JSON body', async () => {
    const out = (await callActivity(http, { url: server.url('/json') })) as { status: number; headers: Record<string, string>; body: unknown };
    assert.equal(out.status, 200);
    assert.deepEqual(out.body, { hello: 'world', n: 1 });
    assert.equal(out.headers['content-type'], 'application/json');
  });

  it('POSTs a JSON body with its headers', async () => {
    const out = (await callActivity(http, { url: server.url('/echo'), method: 'POST', headers: { 'x-trace': 'abc' }, body: { a: [1, 2], b: 'é' } })) as { status: number; body: unknown };
    assert.equal(out.status, 201);
    assert.deepEqual(out.body, { method: 'POST', contentType: 'application/json', trace: 'abc', body: { a: [1, 2], b: 'é' } });
  });

  it('returns a 404 as a result, not a failure', async () => {
    const out = (await callActivity(http, { url: server.url('/missing') })) as { status: number; body: unknown };
    assert.equal(out.status, 404);
    assert.equal(out.body, 'no such thing');
  });

  for (const { status, path } of [
    { status: 503, path: '/unavailable' },
    { status: 429, path: '/throttled' },
  ]) {
    it(`throws a retryable HttpRetryable on ${status}`, async () => {
      const f = await failure(callActivity(http, { url: server.url(path) }));
      assert.equal(f.type, 'HttpRetryable');
      assert.equal(f.nonRetryable, false);
      assert.match(f.message, new RegExp(`GET .*${path}: HTTP ${status}`));
    });
  }

  it('gives up after timeoutMs', async () => {
    const t0 = Date.now();
    const f = await failure(callActivity(http, { url: server.url('/hang'), timeoutMs: 200 }));
    assert.equal(f.type, 'HttpTimeout');
    assert.match(f.message, /no complete answer within 200 ms \(timeoutMs\)/);
    const elapsed = Date.now() - t0;
    assert.ok(elapsed >= 190 && elapsed < 5_000, `took ${elapsed} ms`);
  });
});
