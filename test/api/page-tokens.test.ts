// Page tokens of the listing routes (issue 13 item 5): a token the API did not issue for that very
// listing is a 400 naming nextPageToken, never a 500 from Temporal failing to deserialise it; the
// tokens it does issue still page through a listing.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { LightMyRequestResponse } from 'fastify';
import type { ApiTestEnv } from '../support/api.ts';
import { eventually } from '../support/temporal.ts';
import { runsTestEnv, startRun } from './_runs-support.ts';

let env: ApiTestEnv;
const ids: string[] = [];
before(async () => {
  env = await runsTestEnv(['api-list']);
  for (const x of [1, 2, 3]) ids.push(await startRun(env, 'operator', 'api-list', { x }));
});
after(() => env?.close());

const get = (url: string) => env.as('nobody', { method: 'GET', url });

function assertBadToken(res: LightMyRequestResponse, url: string) {
  assert.equal(res.statusCode, 400, `${url}: ${res.body}`);
  assert.match(String(res.headers['content-type']), /^application\/problem\+json/);
  const body = res.json() as { detail: string; errors: { field: string; message: string }[] };
  assert.deepEqual(body.errors.map((e) => e.field), ['querystring.nextPageToken'], url);
  assert.match(body.detail, /nextPageToken/);
}

/** A real token of the api-list listing, one run per page. */
async function firstPageToken(query: string): Promise<string> {
  return eventually(async () => {
    const res = await get(`/v1/runs?${query}`);
    assert.equal(res.statusCode, 200, res.body);
    return (res.json() as { nextPageToken?: string }).nextPageToken;
  }, 10_000, 'a second page');
}

describe('nextPageToken of GET /v1/runs and GET /v1/incidents', () => {
  it('refuses tokens it did not issue with 400 naming the field, not 500', async () => {
    const wellFormed = [
      'abc',
      'AAAA',
      Buffer.from('{"LastCloseTime":"x","RunID":5}').toString('base64url'),
      `${Buffer.from('{"q":"x","t":"AAAA"}').toString('base64url')}.${'A'.repeat(43)}`,
    ];
    for (const token of wellFormed) {
      for (const url of [`/v1/runs?nextPageToken=${token}&status=compensating`, `/v1/runs?nextPageToken=${token}`, `/v1/incidents?pageSize=1&status=completed&nextPageToken=${token}`]) {
        assertBadToken(await get(url), url);
      }
    }
    for (const url of ['/v1/runs?nextPageToken=a%20b', '/v1/incidents?nextPageToken=%00']) assertBadToken(await get(url), url);
  });

  it('pages with the tokens it issues, and refuses one issued for another listing', async () => {
    const query = 'definition=api-list&pageSize=1';
    const token = await firstPageToken(query);
    const next = await get(`/v1/runs?${query}&nextPageToken=${token}`);
    assert.equal(next.statusCode, 200, next.body);
    assert.equal((next.json() as { runs: unknown[] }).runs.length, 1);

    for (const url of [
      `/v1/runs?definition=api-list&status=completed&pageSize=1&nextPageToken=${token}`,
      `/v1/incidents?pageSize=1&nextPageToken=${token}`,
      `/v1/runs?${query}&nextPageToken=${token.slice(0, -2)}AA`,
    ]) {
      const res = await get(url);
      assertBadToken(res, url);
    }
    const other = await get(`/v1/runs?definition=api-list&status=completed&pageSize=1&nextPageToken=${token}`);
    assert.match(other.json().errors[0].message, /another listing/);
    // The page size may change between pages: the token is bound to the filters only.
    assert.equal((await get(`/v1/runs?definition=api-list&pageSize=2&nextPageToken=${token}`)).statusCode, 200);
  });
});
