// GET /v1/runs/:id/steps/:step/items: a paged forEach's per-item results page by page (in item
// order, every item once), page tokens bound to the run and step (a forged, altered or foreign one
// is a 400 naming nextPageToken), 404 / 409 for steps without results, and the same access as the
// other run reads. With CEDILLE_TEST_CLAIM_CHECK the pages come from the store; without, inline.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { ApiTestEnv, Who } from '../support/api.ts';
import { authRefusal, runWhen, runsTestEnv, startRun, WHO } from './_runs-support.ts';

const ITEMS = 230;
let env: ApiTestEnv;
let id: string;
before(async () => {
  env = await runsTestEnv(['api-items', 'api-fan-out']);
  id = await startRun(env, 'operator', 'api-items', { items: Array.from({ length: ITEMS }, (_, i) => i) });
  await runWhen(env, id, (b) => b.run.temporalStatus === 'COMPLETED', 'the fan-out run to complete');
});
after(() => env?.close());

const get = (who: Who | 'anonymous', url: string) => env.as(who, { method: 'GET', url });
interface Page {
  items: { index: number; status: string; output?: unknown; error?: string }[];
  total: number;
  nextPageToken?: string;
}

describe('GET /v1/runs/:id/steps/:step/items', () => {
  it('reads every item once, in order, page by page', async () => {
    const seen: Page['items'] = [];
    let token: string | undefined;
    let pages = 0;
    do {
      const res = await get('nobody', `/v1/runs/${id}/steps/fan/items?pageSize=100${token ? `&nextPageToken=${token}` : ''}`);
      assert.equal(res.statusCode, 200, res.body);
      const page = res.json() as Page;
      assert.equal(page.total, ITEMS);
      seen.push(...page.items);
      token = page.nextPageToken;
      pages++;
    } while (token);
    assert.equal(pages, 3);
    assert.deepEqual(seen.map((i) => i.index), Array.from({ length: ITEMS }, (_, i) => i));
    for (const item of seen) {
      if (item.index % 7 === 0) assert.deepEqual([item.status, item.error?.includes(`item ${item.index} failed`)], ['failed', true]);
      else assert.deepEqual(item, { index: item.index, status: 'completed', output: `item ${item.index}` });
    }
    // The graph and the step output stay bounded: counts, first failures, a reference.
    const body = (await get('nobody', `/v1/runs/${id}`)).json();
    const fan = body.graph.nodes.find((n: { id: string }) => n.id === 'fan').fanOut;
    assert.equal(fan.results.$items.count, ITEMS);
    // With a result store (CEDILLE_TEST_CLAIM_CHECK) the pages were stored and read back from it.
    assert.equal(fan.results.$items.index !== undefined, process.env.CEDILLE_CLAIM_CHECK_URL !== undefined);
    assert.equal(body.output.fan.failures.length, 20);
    assert.equal(body.output.fan.failuresOmitted, Math.ceil(ITEMS / 7) - 20);
  });

  it('refuses forged, altered and foreign page tokens with a 400 naming nextPageToken', async () => {
    const first = (await get('admin', `/v1/runs/${id}/steps/fan/items?pageSize=10`)).json() as Page;
    assert.ok(first.nextPageToken);
    const [payload, sig] = first.nextPageToken.split('.') as [string, string];
    const claims = JSON.parse(Buffer.from(payload, 'base64url').toString('utf8'));
    const altered = `${Buffer.from(JSON.stringify({ ...claims, o: 0 })).toString('base64url')}.${sig}`;
    const other = await startRun(env, 'operator', 'api-items', { items: [1, 2, 3] });
    await runWhen(env, other, (b) => b.run.temporalStatus === 'COMPLETED', 'the second run');
    for (const [token, why] of [
      ['abc.def', /not a page token issued by this API/],
      [altered, /not a page token issued by this API/],
      [first.nextPageToken, /another run or step/],
    ] as const) {
      const target = token === first.nextPageToken ? other : id;
      const res = await get('admin', `/v1/runs/${target}/steps/fan/items?nextPageToken=${token}`);
      assert.equal(res.statusCode, 400, res.body);
      assert.match(res.json().detail, /nextPageToken/);
      assert.match(res.json().detail, why);
    }
    const bad = await get('admin', `/v1/runs/${id}/steps/fan/items?nextPageToken=not%20a%20token`);
    assert.equal(bad.statusCode, 400);
    assert.match(bad.body, /nextPageToken/);
  });

  it('404 for an unknown run, step or a step that is no forEach; 409 while nothing is written', async () => {
    assert.equal((await get('admin', `/v1/runs/nope-${Date.now()}/steps/fan/items`)).statusCode, 404);
    assert.equal((await get('admin', `/v1/runs/${id}/steps/nope/items`)).statusCode, 404);
    const notFanOut = await get('admin', `/v1/runs/${id}/steps/after/items`);
    assert.equal(notFanOut.statusCode, 404);
    assert.match(notFanOut.json().detail, /only forEach steps/);
    const paused = await startRun(env, 'operator', 'api-fan-out', { items: [1, 2] });
    await runWhen(env, paused, (b) => b.graph?.nodes.find((n) => n.id === 'fan')?.status === 'paused', 'the fan-out to pause');
    const res = await get('admin', `/v1/runs/${paused}/steps/fan/items`);
    assert.equal(res.statusCode, 409, res.body);
    assert.match(res.json().detail, /written when the fan-out ends/);
    await env.as('operator', { method: 'POST', url: `/v1/runs/${paused}/cancel` });
  });

  it('is readable by every authenticated caller, refused to anonymous ones', async () => {
    for (const who of WHO) {
      const res = await get(who, `/v1/runs/${id}/steps/fan/items?pageSize=1`);
      if (who === 'anonymous') assert.equal(res.statusCode, 401);
      else assert.ok(res.statusCode === 200 && !authRefusal(res), `${who}: ${res.statusCode}`);
    }
  });

  it('is in the OpenAPI document with its parameters', async () => {
    const doc = (await get('anonymous', '/docs/json')).json();
    const op = doc.paths['/v1/runs/{id}/steps/{step}/items']?.get;
    assert.ok(op, 'documented');
    assert.equal(op.operationId, 'listStepItems');
    assert.deepEqual(op.parameters.map((p: { name: string }) => p.name).sort(), ['id', 'nextPageToken', 'pageSize', 'step']);
  });
});
