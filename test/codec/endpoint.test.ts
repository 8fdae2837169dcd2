// The codec endpoint of the API (api/routes/codec.ts), against a real run: the worker and the API
// share a keyring; a payload fetched raw from the run's history decodes through POST
// /v1/codec/decode exactly as the Temporal UI would ask (protobuf JSON, X-Namespace, CORS
// preflight from the UI's origin); access levels, session cookie, errors and audit entries.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { defaultPayloadConverter, type Payload } from '@temporalio/common';
import { AesGcmCodec, dataConverter, generateKey, keyring, keyIdOf } from '../../codec/index.ts';
import { apiTestEnv, IDENTITIES, type ApiTestEnv, type Who } from '../support/api.ts';
import { eventually } from '../support/temporal.ts';
import { rawHistory } from '../support/history-scan.ts';

const UI = 'http://127.0.0.1:8233';
const KEY = generateKey('endpoint-a');
const OTHER = generateKey('endpoint-other');
const ring = keyring([KEY]);

let env: ApiTestEnv;
let runId: string;
let inputPayload: Payload;

const wire = (p: Payload) => ({
  metadata: Object.fromEntries(Object.entries(p.metadata ?? {}).map(([k, v]) => [k, Buffer.from(v!).toString('base64')])),
  data: Buffer.from(p.data ?? []).toString('base64'),
});
const unwire = (w: { metadata: Record<string, string>; data: string }): Payload => ({
  metadata: Object.fromEntries(Object.entries(w.metadata).map(([k, v]) => [k, Buffer.from(v, 'base64')])),
  data: Buffer.from(w.data, 'base64'),
});

function codecCall(who: Who | 'anonymous', direction: 'decode' | 'encode', payloads: Payload[], headers: Record<string, string> = {}) {
  return env.as(who, {
    method: 'POST',
    url: `/v1/codec/${direction}`,
    headers: { 'content-type': 'application/json', 'x-namespace': env.config.temporal.namespace, origin: UI, ...headers },
    payload: { payloads: payloads.map(wire) },
  });
}

before(async () => {
  env = await apiTestEnv({
    worker: { dataConverter: dataConverter(ring) },
    env: { CEDILLE_CODEC_KEYS: `${KEY.id}:${KEY.key.toString('base64')}`, CEDILLE_CODEC_CORS_ORIGINS: `${UI},http://localhost:8233` },
  });
  const res = await env.as('operator', { method: 'POST', url: '/v1/runs', payload: { definition: 'hello-world', input: { name: 'Ada Codec' } } });
  assert.equal(res.statusCode, 201, res.body);
  runId = res.json().run.id;
  const started = (await rawHistory(env.temporal.client, runId))[0]!.workflowExecutionStartedEventAttributes!;
  inputPayload = started.input!.payloads![0] as Payload;
});
after(() => env?.close());

describe('codec endpoint', () => {
  it('the run is stored encrypted and the API still shows it decoded', async () => {
    assert.equal(keyIdOf(inputPayload), KEY.id);
    assert.ok(!Buffer.from(inputPayload.data!).includes('Ada Codec'));
    const body = await eventually<{ graph: { nodes: { id: string; status: string }[] } }>(async () => {
      const r = await env.as('operator', { method: 'GET', url: `/v1/runs/${runId}` });
      return r.json().run?.status === 'completed' ? r.json() : undefined;
    }, 30_000, 'hello-world completes');
    // The graph is a query answer (a payload, encrypted by the worker): the API decoded it.
    assert.equal(body.graph.nodes.find((n) => n.id === 'summary')?.status, 'completed');
    // The timeline reads the initiator from the (encrypted) memo.
    const timeline = await env.as('operator', { method: 'GET', url: `/v1/runs/${runId}/history` });
    assert.equal(timeline.statusCode, 200, timeline.body);
    assert.match(timeline.body, /started by olivier-operator/);
  });

  it('decodes a payload of a real history for any authenticated caller (read), as the UI asks', async () => {
    const res = await codecCall('nobody', 'decode', [inputPayload]);
    assert.equal(res.statusCode, 200, res.body);
    assert.equal(res.headers['access-control-allow-origin'], UI);
    assert.equal(res.headers['access-control-allow-credentials'], 'true');
    const [decoded] = res.json().payloads.map(unwire);
    assert.equal(Buffer.from(decoded.metadata.encoding).toString(), 'json/plain');
    assert.match(JSON.stringify(defaultPayloadConverter.fromPayload(decoded)), /"name":"Ada Codec"/);
    // Clear payloads come back unchanged.
    const clear = defaultPayloadConverter.toPayload({ plain: true });
    assert.deepEqual((await codecCall('nobody', 'decode', [clear])).json().payloads, [wire(clear)]);
  });

  it('encodes for operators only; what it encodes decodes back', async () => {
    const value = defaultPayloadConverter.toPayload({ signal: 'approve', comment: 'from the UI' });
    assert.equal((await codecCall('nobody', 'encode', [value])).statusCode, 403);
    assert.equal((await codecCall('etsIt', 'encode', [value])).statusCode, 403);
    const res = await codecCall('operator', 'encode', [value]);
    assert.equal(res.statusCode, 200, res.body);
    const [encoded] = res.json().payloads.map(unwire);
    assert.equal(keyIdOf(encoded), KEY.id);
    assert.deepEqual(defaultPayloadConverter.fromPayload((await new AesGcmCodec(ring).decode([encoded]))[0]!), { signal: 'approve', comment: 'from the UI' });
  });

  it('refuses anonymous callers, unknown tokens and other namespaces; 401s carry CORS headers for the UI', async () => {
    const anon = await codecCall('anonymous', 'decode', [inputPayload]);
    assert.equal(anon.statusCode, 401);
    assert.equal(anon.headers['access-control-allow-origin'], UI);
    assert.match(anon.json().detail, /missing bearer token/);
    assert.equal((await codecCall('anonymous', 'decode', [inputPayload], { authorization: 'Bearer not-a-known-token-at-all-0123456789' })).statusCode, 401);
    const other = await codecCall('admin', 'decode', [inputPayload], { 'x-namespace': 'someone-else' });
    assert.equal(other.statusCode, 403);
    assert.match(other.json().detail, /namespace someone-else is not served here/);
  });

  it('answers the CORS preflight for the UI origins only', async () => {
    for (const origin of [UI, 'http://localhost:8233']) {
      const pre = await env.as('anonymous', {
        method: 'OPTIONS',
        url: '/v1/codec/decode',
        headers: { origin, 'access-control-request-method': 'POST', 'access-control-request-headers': 'authorization,content-type,x-namespace' },
      });
      assert.equal(pre.statusCode, 204, pre.body);
      assert.equal(pre.headers['access-control-allow-origin'], origin);
      assert.equal(pre.headers['access-control-allow-credentials'], 'true');
      assert.match(String(pre.headers['access-control-allow-headers']), /Authorization/);
      assert.match(String(pre.headers['access-control-allow-headers']), /X-Namespace/);
      assert.match(String(pre.headers['access-control-allow-methods']), /POST/);
    }
    const evil = await env.as('anonymous', { method: 'OPTIONS', url: '/v1/codec/decode', headers: { origin: 'https://evil.example', 'access-control-request-method': 'POST' } });
    assert.equal(evil.statusCode, 403);
    assert.equal(evil.headers['access-control-allow-origin'], undefined);
    const post = await codecCall('admin', 'decode', [inputPayload], { origin: 'https://evil.example' });
    assert.equal(post.headers['access-control-allow-origin'], undefined, 'no CORS grant for other origins');
  });

  it('names the key of a payload it cannot decrypt (422)', async () => {
    const [foreign] = await new AesGcmCodec(keyring([OTHER])).encode([defaultPayloadConverter.toPayload('x')]);
    const res = await codecCall('admin', 'decode', [foreign!]);
    assert.equal(res.statusCode, 422);
    assert.match(res.json().detail, /key "endpoint-other", which is not in this keyring/);
  });

  it('opens a 12 h codec session from a token pasted in a form; the cookie authenticates decode only', async () => {
    const page = await env.as('anonymous', { method: 'GET', url: '/v1/codec/session' });
    assert.equal(page.statusCode, 200);
    assert.match(page.body, /<form method="post">/);
    const bad = await env.as('anonymous', { method: 'POST', url: '/v1/codec/session', headers: { 'content-type': 'application/x-www-form-urlencoded' }, payload: 'token=wrong-token-0123456789abcdef0123' });
    assert.equal(bad.statusCode, 401);
    assert.equal(bad.headers['set-cookie'], undefined);
    const ok = await env.as('anonymous', { method: 'POST', url: '/v1/codec/session', headers: { 'content-type': 'application/x-www-form-urlencoded' }, payload: `token=${env.tokens.sre}` });
    assert.equal(ok.statusCode, 200, ok.body);
    const cookie = String(ok.headers['set-cookie']);
    assert.match(cookie, /^cedille_codec=[^;]+; Path=\/v1\/codec; HttpOnly; SameSite=Lax; Max-Age=43200/);
    const session = cookie.split(';')[0]!;
    const viaCookie = await codecCall('anonymous', 'decode', [inputPayload], { cookie: session });
    assert.equal(viaCookie.statusCode, 200, viaCookie.body);
    // The sre tester is an operator: encode works with the cookie as well; a forged cookie does not.
    assert.equal((await codecCall('anonymous', 'encode', [inputPayload], { cookie: session })).statusCode, 200);
    const forged = session.replace(/.$/, (c) => (c === 'A' ? 'B' : 'A'));
    assert.equal((await codecCall('anonymous', 'decode', [inputPayload], { cookie: forged })).statusCode, 401);
  });

  it('audits who decoded and encoded what', async () => {
    const res = await env.as('admin', { method: 'GET', url: '/v1/audit?action=codec.decode' });
    assert.equal(res.statusCode, 200, res.body);
    const entries = res.json().entries as { actor: string; details: { payloads: number; keyIds: string[] } }[];
    assert.ok(
      entries.some((e) => e.actor === IDENTITIES.nobody.subject && e.details.keyIds.includes(KEY.id) && e.details.payloads === 1),
      'decode by nina-nobody audited with the key id',
    );
    assert.ok(entries.some((e) => e.actor === IDENTITIES.sre.subject), 'decode through the session cookie audited as its person');
    const enc = (await env.as('admin', { method: 'GET', url: '/v1/audit?action=codec.encode' })).json().entries;
    assert.ok(enc.some((e: { actor: string }) => e.actor === IDENTITIES.operator.subject));
  });
});
