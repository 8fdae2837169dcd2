// core.http end to end: an activity step on the real worker and server, retried on 503 until the
// local server answers 200 on the third attempt.
import { after, before, it } from 'node:test';
import assert from 'node:assert/strict';
import type { CompiledDefinition } from '../../workflows/dsl/compiled.ts';
import { temporalTestEnv, type TemporalTestEnv } from '../support/temporal.ts';
import { NO_DEFINITIONS } from '../support/activities/index.ts';
import { json, localServer, type LocalServer } from './_support.ts';

let server: LocalServer;
let env: TemporalTestEnv;

before(async () => {
  server = await localServer((_req, res) => (server.requests.length <= 2 ? json(res, 503, { error: 'warming up' }) : json(res, 200, { ok: true })));
  // The worker runs in this process: the activity reads the allow-list from here.
  process.env.CEDILLE_HTTP_ALLOW = server.host;
  env = await temporalTestEnv();
  await env.startWorker({ registry: NO_DEFINITIONS });
});

after(async () => {
  await env?.close();
  await server?.close();
});

function definition(url: string): CompiledDefinition {
  return {
    apiVersion: 'cedille.etsmtl.ca/v1',
    kind: 'WorkflowDefinition',
    name: 'http-retries',
    hash: 'http-retries',
    dependencies: {},
    steps: [
      {
        kind: 'activity',
        id: 'call',
        activity: 'core.http',
        with: { url, method: 'POST', body: { ping: 1 } },
        retry: { maximumAttempts: 3, initialIntervalMs: 50, backoffCoefficient: 1 },
        timeouts: { startToCloseMs: 10_000 },
      },
    ],
    output: { call: '${{ steps.call.output }}' },
  };
}

it('retries core.http on 503 and succeeds on the third attempt', async () => {
  const h = await env.start(definition(server.url('/flaky')));
  const out = (await h.result()) as { call: { status: number; body: unknown } };
  assert.equal(out.call.status, 200);
  assert.deepEqual(out.call.body, { ok: true });
  assert.equal(server.requests.length, 3);
  assert.ok(server.requests.every((r) => r.method === 'POST' && r.body === '{"ping":1}'));
  const g = await env.graph(h);
  assert.equal(g.status, 'completed');
  const call = g.nodes.find((n) => n.id === 'call');
  assert.equal(call?.status, 'completed');
  assert.equal(call?.attempts, 3);
});
