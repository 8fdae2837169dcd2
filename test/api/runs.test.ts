// The run routes against a real Temporal server and worker: start (input validation, versions,
// idempotency), list (visibility filters, pages), read, history, cancel, retry/skip of a paused
// fan-out, the access matrix of the mutating routes and their audit entries.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { ApiTestEnv, Who } from '../support/api.ts';
import { IDENTITIES } from '../support/api.ts';
import { eventually } from '../support/temporal.ts';
import { authRefusal, node, runsTestEnv, runWhen, startRun, WHO } from './_runs-support.ts';

let env: ApiTestEnv;
before(async () => {
  env = await runsTestEnv(['api-hold', 'api-list', 'api-fan-out']);
});
after(() => env?.close());

const post = (who: Who | 'anonymous', url: string, payload?: unknown) => env.as(who, { method: 'POST', url, ...(payload !== undefined ? { payload: payload as object } : {}) });
const get = (who: Who | 'anonymous', url: string) => env.as(who, { method: 'GET', url });

describe('POST /v1/runs', () => {
  it('starts the latest version with the caller as initiator; the run is listed at once', async () => {
    const res = await post('operator', '/v1/runs', { definition: 'api-hold', input: { x: 1 } });
    assert.equal(res.statusCode, 201, res.body);
    const { run } = res.json();
    assert.match(run.id, /^api-hold-[0-9a-f-]{36}$/);
    assert.equal(run.definition, 'api-hold');
    assert.equal(run.initiator, IDENTITIES.operator.subject);
    assert.equal(run.status, 'running');
    assert.equal(run.temporalStatus, 'RUNNING');
    assert.match(run.hash, /\w+/);
    // The run publishes its status (CedilleStatus) once the step waits.
    await runWhen(env, run.id, (b) => b.graph !== null && node(b, 'hold').status === 'waiting' && b.run.status === 'waiting', 'hold waiting');
  });

  it('refuses an invalid input with 422 naming each field, before anything starts', async () => {
    for (const [input, field] of [
      [{ x: 'one' }, 'body.input.x'],
      [{}, 'body.input.x'],
      [{ x: 1, note: 5 }, 'body.input.note'],
    ] as const) {
      const res = await post('operator', '/v1/runs', { definition: 'api-hold', input });
      assert.equal(res.statusCode, 422, res.body);
      assert.match(String(res.headers['content-type']), /application\/problem\+json/);
      assert.deepEqual(
        res.json().errors.map((e: { field: string }) => e.field),
        [field],
      );
    }
  });

  it('404 for an unknown definition or a version of another name; a version hash pins it', async () => {
    const unknown = await post('operator', '/v1/runs', { definition: 'no-such-thing' });
    assert.equal(unknown.statusCode, 404);
    assert.equal(unknown.json().errors[0].field, 'body.definition');
    const hash = (await post('operator', '/v1/runs', { definition: 'api-list', input: { x: 0 } })).json().run.hash;
    const wrong = await post('operator', '/v1/runs', { definition: 'api-hold', version: hash, input: { x: 1 } });
    assert.equal(wrong.statusCode, 404);
    assert.equal(wrong.json().errors[0].field, 'body.version');
    const pinned = await post('operator', '/v1/runs', { definition: 'api-list', version: hash, input: { x: 1 } });
    assert.equal(pinned.statusCode, 201, pinned.body);
    assert.equal(pinned.json().run.hash, hash);
  });

  it('idempotency: same key and body give the same run (200); another body 409; another caller another run', async () => {
    const body = { definition: 'api-hold', input: { x: 7, note: 'a' }, idempotencyKey: 'deploy-42' };
    const first = await post('operator', '/v1/runs', body);
    assert.equal(first.statusCode, 201, first.body);
    // Key order of the input does not matter.
    const again = await post('operator', '/v1/runs', { ...body, input: { note: 'a', x: 7 } });
    assert.equal(again.statusCode, 200, again.body);
    assert.equal(again.json().run.id, first.json().run.id);
    const other = await post('operator', '/v1/runs', { ...body, input: { x: 8 } });
    assert.equal(other.statusCode, 409, other.body);
    assert.equal(other.json().errors[0].field, 'body.idempotencyKey');
    const someoneElse = await post('sre', '/v1/runs', body);
    assert.equal(someoneElse.statusCode, 201);
    assert.notEqual(someoneElse.json().run.id, first.json().run.id);
  });

  it('400 names malformed body fields', async () => {
    const res = await post('operator', '/v1/runs', { input: {} });
    assert.equal(res.statusCode, 400);
    assert.equal(res.json().errors[0].field, 'body.definition');
  });
});

describe('GET /v1/runs', () => {
  const ids: Record<string, string> = {};
  before(async () => {
    ids.a = await startRun(env, 'operator', 'api-list', { x: 1 });
    ids.b = await startRun(env, 'operator', 'api-list', { x: 2 });
    ids.c = await startRun(env, 'sre', 'api-list', { x: 3 });
  });
  const list = async (query: string) => {
    const res = await get('nobody', `/v1/runs?${query}`);
    assert.equal(res.statusCode, 200, res.body);
    return res.json() as { runs: { id: string; initiator: string; status: string; definition: string }[]; nextPageToken?: string };
  };
  // Earlier tests started api-list runs too (version pinning): count only this suite's.
  const mine = (runs: { id: string }[]) => runs.map((r) => r.id).filter((id) => Object.values(ids).includes(id)).sort();

  it('filters by definition, initiator and status (visibility)', async () => {
    // Visibility is eventually consistent: the runs just started may take a moment to be listed.
    const all = await eventually(async () => {
      const page = await list('definition=api-list&pageSize=200');
      return mine(page.runs).length === Object.values(ids).length ? page : undefined;
    }, 10_000, 'every run listed');
    assert.deepEqual(mine(all.runs), Object.values(ids).sort());
    assert.ok(all.runs.every((r) => r.definition === 'api-list'));
    const bySre = await list(`definition=api-list&initiator=${IDENTITIES.sre.subject}`);
    assert.deepEqual(bySre.runs.map((r) => r.id), [ids.c]);
    await eventually(async () => ((await list('definition=api-list&status=waiting&pageSize=200')).runs.filter((r) => Object.values(ids).includes(r.id)).length === 3 ? true : undefined), 10_000, 'three waiting');
    assert.deepEqual(mine((await list('definition=api-list&status=completed')).runs), []);
    const since = await list(`definition=api-list&since=${encodeURIComponent(new Date(Date.now() + 60_000).toISOString())}`);
    assert.deepEqual(since.runs, []);
    assert.equal((await list('definition=api-list&temporalStatus=COMPLETED')).runs.length, 0);
  });

  it('pages with pageSize and nextPageToken', async () => {
    const seen: string[] = [];
    let token: string | undefined;
    let pages = 0;
    do {
      const page = await list(`initiator=${IDENTITIES.operator.subject}&definition=api-list&pageSize=2${token ? `&nextPageToken=${token}` : ''}`);
      assert.ok(page.runs.length <= 2);
      seen.push(...page.runs.map((r) => r.id));
      token = page.nextPageToken;
      pages++;
    } while (token && pages < 10);
    assert.ok(pages >= 2, `expected several pages, got ${pages}`);
    assert.equal(new Set(seen).size, seen.length, 'no run twice');
    assert.ok(seen.includes(ids.a!) && seen.includes(ids.b!));
  });

  it('refuses quotes in filter values and out-of-range page sizes, naming the field', async () => {
    for (const [query, field] of [
      ["definition=x'%20OR%20'1'='1", 'querystring.definition'],
      ['initiator=a%22b', 'querystring.initiator'],
      ['pageSize=500', 'querystring.pageSize'],
      ['status=sleeping', 'querystring.status'],
    ] as const) {
      const res = await get('nobody', `/v1/runs?${query}`);
      assert.equal(res.statusCode, 400, query);
      assert.equal(res.json().errors[0].field, field);
    }
    assert.equal((await get('anonymous', '/v1/runs')).statusCode, 401);
  });
});

describe('GET /v1/runs/:id and /history', () => {
  it('404 problems for an unknown run', async () => {
    for (const url of ['/v1/runs/api-hold-nope', '/v1/runs/api-hold-nope/history']) {
      const res = await get('nobody', url);
      assert.equal(res.statusCode, 404);
      assert.equal(res.json().type, 'urn:cedille:problem:run-not-found');
    }
  });

  it('a closed run still shows its graph; the history is a readable timeline', async () => {
    const id = await startRun(env, 'operator', 'api-hold', { x: 5 });
    await runWhen(env, id, (b) => b.graph !== null && node(b, 'hold').status === 'waiting');
    await env.temporal.client.workflow.getHandle(id).signal('finish');
    const body = await runWhen(env, id, (b) => b.run.temporalStatus === 'COMPLETED', 'completed');
    assert.equal(body.run.status, 'completed');
    assert.equal(node(body, 'done').status, 'completed');

    const res = await get('nobody', `/v1/runs/${id}/history`);
    assert.equal(res.statusCode, 200);
    const events = res.json().events as { type: string; actor?: string; summary: string; stepId?: string }[];
    const types = events.map((e) => e.type);
    assert.equal(events[0]!.type, 'run.started');
    assert.equal(events[0]!.actor, IDENTITIES.operator.subject);
    assert.match(events[0]!.summary, /started by olivier-operator/);
    assert.ok(types.includes('signal'), types.join());
    assert.ok(events.some((e) => e.type === 'activity.scheduled' && e.stepId === 'done' && /core\.echo/.test(e.summary)));
    assert.ok(events.some((e) => e.type === 'activity.completed' && e.stepId === 'done'));
    assert.ok(events.some((e) => e.type === 'status' && /waiting/.test(e.summary)));
    assert.equal(types.at(-1), 'run.completed');
  });
});

describe('POST /v1/runs/:id/cancel', () => {
  it('cancels with the caller as identity and reason, kept in history; 409 once closed; 404 unknown', async () => {
    const id = await startRun(env, 'operator', 'api-hold', { x: 1 });
    const res = await post('operator', `/v1/runs/${id}/cancel`, { reason: 'wrong version' });
    assert.equal(res.statusCode, 202, res.body);
    assert.equal(res.json().run.id, id);
    const body = await runWhen(env, id, (b) => b.run.temporalStatus === 'CANCELLED', 'cancelled');
    assert.equal(body.run.status, 'cancelled');

    const events = (await get('admin', `/v1/runs/${id}/history`)).json().events as { type: string; actor?: string; summary: string }[];
    const cancel = events.find((e) => e.type === 'cancel.requested');
    assert.ok(cancel, events.map((e) => e.type).join());
    assert.equal(cancel.actor, IDENTITIES.operator.subject);
    assert.match(cancel.summary, /wrong version/);
    assert.equal(events.at(-1)!.type, 'run.cancelled');

    const again = await post('operator', `/v1/runs/${id}/cancel`, {});
    assert.equal(again.statusCode, 409);
    assert.equal(again.json().type, 'urn:cedille:problem:run-closed');
    assert.equal((await post('operator', '/v1/runs/api-hold-nope/cancel', {})).statusCode, 404);

    const audit = (await get('admin', `/v1/audit?target=${id}`)).json().entries as { action: string; actor: string; details?: { reason?: string } }[];
    assert.deepEqual(audit.map((e) => e.action).sort(), ['run.cancel', 'run.start']);
    assert.equal(audit.find((e) => e.action === 'run.cancel')!.details?.reason, 'wrong version');
    assert.ok(audit.every((e) => e.actor === IDENTITIES.operator.subject));
  });
});

describe('POST /v1/runs/:id/steps/:step/retry-failed | skip-failed', () => {
  it('retries then skips the failed items of a paused fan-out; refusals map to 409 / 404', async () => {
    const id = await startRun(env, 'operator', 'api-fan-out', { items: [1, 2] });
    const paused = () => runWhen(env, id, (b) => b.graph !== null && node(b, 'fan').status === 'paused', 'fan-out paused');
    await paused();

    const retry = await post('operator', `/v1/runs/${id}/steps/fan/retry-failed`);
    assert.equal(retry.statusCode, 200, retry.body);
    assert.deepEqual(retry.json(), { stepId: 'fan', retrying: 1 });
    const twice = await post('operator', `/v1/runs/${id}/steps/fan/retry-failed`);
    assert.equal(twice.statusCode, 409, twice.body);

    await paused();
    const unknown = await post('operator', `/v1/runs/${id}/steps/nope/skip-failed`);
    assert.equal(unknown.statusCode, 404);
    assert.equal(unknown.json().title, 'UnknownStep');
    const notFanOut = await post('operator', `/v1/runs/${id}/steps/attempt/skip-failed`);
    assert.equal(notFanOut.statusCode, 409);
    assert.equal(notFanOut.json().title, 'NotPaused');
    const skip = await post('operator', `/v1/runs/${id}/steps/fan/skip-failed`);
    assert.equal(skip.statusCode, 200, skip.body);
    assert.deepEqual(skip.json(), { stepId: 'fan', skipped: 1 });
    await runWhen(env, id, (b) => b.run.temporalStatus !== 'RUNNING', 'closed');
    const closed = await post('operator', `/v1/runs/${id}/steps/fan/retry-failed`);
    assert.equal(closed.statusCode, 409);
    assert.equal(closed.json().type, 'urn:cedille:problem:run-closed');

    const actions = ((await get('admin', `/v1/audit?target=${id}`)).json().entries as { action: string; details: { stepId?: string } }[]).map((e) => e.action);
    assert.deepEqual(actions, ['run.skip-failed', 'run.retry-failed', 'run.start']);
  });
});

describe('access matrix of the mutating run routes', () => {
  const allowed = new Set<Who | 'anonymous'>(['admin', 'operator', 'sre']);
  const expectAuth = (who: Who | 'anonymous', res: Awaited<ReturnType<typeof post>>, what: string) => {
    if (who === 'anonymous') assert.equal(res.statusCode, 401, `${what} as ${who}`);
    else if (!allowed.has(who)) {
      assert.equal(res.statusCode, 403, `${what} as ${who}: ${res.body}`);
      assert.ok(authRefusal(res), `${what} as ${who}: refused by the access level`);
    } else assert.ok(!authRefusal(res) && res.statusCode < 500, `${what} as ${who}: ${res.statusCode} ${res.body}`);
  };

  it('start, cancel, retry-failed, skip-failed: operators and admins only', async () => {
    const started: Partial<Record<Who, string>> = {};
    for (const who of WHO) {
      const res = await post(who, '/v1/runs', { definition: 'api-hold', input: { x: 1 } });
      expectAuth(who, res, 'start');
      if (allowed.has(who)) {
        assert.equal(res.statusCode, 201);
        started[who as Who] = res.json().run.id;
      }
    }
    const target = started.admin!;
    for (const who of WHO) {
      for (const action of ['retry-failed', 'skip-failed']) {
        const res = await post(who, `/v1/runs/${target}/steps/hold/${action}`);
        expectAuth(who, res, action);
        if (allowed.has(who)) assert.equal(res.json().title, 'NotPaused', 'passed the access check; the run refuses');
      }
    }
    for (const who of WHO) {
      const res = await post(who, `/v1/runs/${allowed.has(who) ? started[who as Who] : target}/cancel`); // no body at all
      expectAuth(who, res, 'cancel');
      if (allowed.has(who)) assert.equal(res.statusCode, 202);
    }
    const audit = (await get('admin', '/v1/audit?action=run.start&limit=1000')).json().entries as { actor: string; target: string }[];
    for (const who of ['admin', 'operator', 'sre'] as const) assert.ok(audit.some((e) => e.target === started[who] && e.actor === IDENTITIES[who].subject), who);
  });

  it('counts started runs in /metrics', async () => {
    const text = (await get('anonymous', '/metrics')).body;
    assert.match(text, /cedille_runs_started_total\{definition="api-hold"\} \d+/);
  });
});
