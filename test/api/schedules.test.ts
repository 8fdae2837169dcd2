// /v1/schedules against the real Temporal server and a worker on the API's task queue: create (the
// definition version pinned, validation of cron, time zone, catch-up window and input naming the
// field), show, list, trigger (a run of the pinned definition appears and completes), pause and
// unpause with notes, delete, 404s and 409, who may do what, and the audit trail.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { apiTestEnv, IDENTITIES, type ApiTestEnv, type Who } from '../support/api.ts';
import { eventually } from '../support/temporal.ts';
import { cronProblem, canonicalTimezone } from '../../api/routes/schedules.ts';

const TICK = readFileSync(new URL('../fixtures/definitions/api-defs-tick.yaml', import.meta.url), 'utf8');
const NAME = `api-defs-sched-${randomUUID().slice(0, 8)}`;
const SOURCE = TICK.replace('name: api-defs-tick', `name: ${NAME}`);
/** One SRE approval, then the run holds until a `finish` signal. */
const APPROVAL_NAME = `${NAME}-approval`;
const APPROVAL_SOURCE = readFileSync(new URL('../fixtures/definitions/api-approval.yaml', import.meta.url), 'utf8').replace('name: api-approval', `name: ${APPROVAL_NAME}`);
const isAdmin = (who: Who | 'anonymous') => who !== 'anonymous' && (IDENTITIES[who].roles as readonly string[]).includes('admin');
/** Far from the test's run time: only triggers start runs. */
const CRON = '0 0 1 1 *';

describe('schedules API', () => {
  let env: ApiTestEnv;
  let v1: string;
  const sid = (what: string) => `${NAME}-${what}`;
  const create = (who: Who | 'anonymous', body: Record<string, unknown>) => env.as(who, { method: 'POST', url: '/v1/schedules', payload: body });
  const post = (who: Who | 'anonymous', id: string, action: string, payload?: object) =>
    env.as(who, { method: 'POST', url: `/v1/schedules/${id}/${action}`, ...(payload ? { payload } : {}) });

  before(async () => {
    env = await apiTestEnv();
    const res = await env.as('admin', { method: 'POST', url: '/v1/definitions', payload: { source: SOURCE } });
    assert.equal(res.statusCode, 201, res.body);
    v1 = res.json().definition.hash;
  });
  after(async () => {
    for await (const s of env.temporal.client.schedule.list()) if (s.scheduleId.startsWith(NAME)) await env.temporal.client.schedule.getHandle(s.scheduleId).delete().catch(() => undefined);
    await env.close();
  });

  it('create -> show -> list -> trigger (a run of the pinned version) -> pause/unpause -> delete', async () => {
    const id = sid('main');
    const created = await create('admin', { id, definition: NAME, input: { who: 'Ada' }, cron: CRON, catchupWindow: '10m', note: 'nightly tick' });
    assert.equal(created.statusCode, 201, created.body);
    const schedule = created.json().schedule;
    assert.deepEqual(
      { ...schedule, nextActionTimes: undefined, createdAt: undefined },
      {
        id,
        definition: NAME,
        hash: v1,
        input: { who: 'Ada' },
        cron: CRON,
        timezone: 'America/Toronto',
        overlap: 'skip',
        catchupWindow: '10m',
        paused: false,
        note: 'nightly tick',
        createdBy: 'alice-admin',
        recentActions: [],
        runningWorkflows: [],
        nextActionTimes: undefined,
        createdAt: undefined,
      },
    );
    // Midnight on January 1st in Toronto: 05:00Z (EST).
    assert.match(schedule.nextActionTimes[0], /^\d{4}-01-01T05:00:00\.000Z$/);
    assert.equal((await create('admin', { id, definition: NAME, input: { who: 'Ada' }, cron: CRON })).statusCode, 409);

    // A new version of the definition does not change what the schedule runs.
    const v2 = (await env.as('admin', { method: 'POST', url: '/v1/definitions', payload: { source: SOURCE.replace('title: API tick', 'title: API tick v2') } })).json().definition.hash;
    assert.notEqual(v2, v1);

    const shown = await env.as('nobody', { method: 'GET', url: `/v1/schedules/${id}` });
    assert.equal(shown.statusCode, 200);
    assert.equal(shown.json().schedule.hash, v1);
    await eventually(async () => {
      const list = (await env.as('etsIt', { method: 'GET', url: '/v1/schedules' })).json().schedules;
      return list.find((s: { id: string }) => s.id === id)?.hash === v1 || undefined;
    }, 10_000, 'the schedule in the list');

    const triggered = await post('admin', id, 'trigger', { note: 'now please' });
    assert.equal(triggered.statusCode, 200, triggered.body);
    const run = await eventually(async () => {
      for await (const wf of env.temporal.client.workflow.list({ query: `CedilleDefinition = '${NAME}'` })) if (wf.workflowId.startsWith(`${id}-`)) return wf;
      return undefined;
    }, 15_000, 'the triggered run in visibility');
    assert.equal(run.taskQueue, env.config.temporal.taskQueue);
    assert.equal(run.type, 'interpret');
    assert.equal(run.memo?.initiator, 'alice-admin');
    const handle = env.temporal.client.workflow.getHandle(run.workflowId);
    assert.deepEqual(await handle.result(), { who: 'Ada', by: 'alice-admin' });
    const attrs = (await handle.describe()).searchAttributes;
    assert.deepEqual([attrs.CedilleDefinitionHash, attrs.CedilleInitiator, attrs.CedilleStatus], [[v1], ['alice-admin'], ['completed']]);
    const recent = await eventually(async () => {
      const s = (await env.as('nobody', { method: 'GET', url: `/v1/schedules/${id}` })).json().schedule;
      return s.recentActions.length > 0 ? s.recentActions : undefined;
    }, 10_000, 'the run in recent actions');
    assert.equal(recent[0].workflowId, run.workflowId);

    const paused = await post('admin', id, 'pause', { note: 'maintenance' });
    assert.equal(paused.statusCode, 200, paused.body);
    assert.deepEqual([paused.json().schedule.paused, paused.json().schedule.note], [true, 'maintenance']);
    assert.equal((await env.as('sre2', { method: 'GET', url: `/v1/schedules/${id}` })).json().schedule.paused, true);
    const unpaused = await post('admin', id, 'unpause');
    assert.equal(unpaused.statusCode, 200, unpaused.body);
    assert.deepEqual([unpaused.json().schedule.paused, unpaused.json().schedule.note], [false, 'unpaused by alice-admin']);

    const deleted = await env.as('admin', { method: 'DELETE', url: `/v1/schedules/${id}` });
    assert.equal(deleted.statusCode, 204);
    assert.equal(deleted.body, '');
    assert.equal((await env.as('admin', { method: 'GET', url: `/v1/schedules/${id}` })).statusCode, 404);
    await eventually(async () => {
      const list = (await env.as('admin', { method: 'GET', url: '/v1/schedules' })).json().schedules;
      return list.some((s: { id: string }) => s.id === id) ? undefined : true;
    }, 10_000, 'the schedule gone from the list');

    const audit = (await env.as('admin', { method: 'GET', url: `/v1/audit?target=${id}` })).json().entries;
    assert.deepEqual(
      audit.map((e: { action: string; actor: string }) => `${e.action} ${e.actor}`).reverse(),
      ['schedule.create', 'schedule.trigger', 'schedule.pause', 'schedule.unpause', 'schedule.delete'].map((a) => `${a} alice-admin`),
    );
    assert.equal(audit.at(-1).details.hash, v1);
  });

  it('refuses nonsense cron, time zone, catch-up window and id, naming the field (400)', async () => {
    const base = { id: sid('bad'), definition: NAME, input: { who: 'x' }, cron: CRON };
    for (const [patch, field, message] of [
      [{ cron: 'every day at noon' }, 'body.cron', /expected 5 fields/],
      [{ cron: '61 * * * *' }, 'body.cron', /minute '61' is out of range 0-59/],
      [{ cron: '0 12 * * MON-FRI 2030' }, 'body.cron', /expected 5 fields/],
      [{ timezone: 'Mars/Olympus_Mons' }, 'body.timezone', /unknown time zone/],
      [{ catchupWindow: 'a while' }, 'body.catchupWindow', /invalid duration/],
      [{ catchupWindow: '5s' }, 'body.catchupWindow', /minimum of 10s/],
      [{ overlap: 'sometimes' }, 'body.overlap', /./],
      [{ id: '../etc' }, 'body.id', /letters, digits/],
    ] as const) {
      const res = await create('admin', { ...base, ...patch });
      assert.equal(res.statusCode, 400, `${JSON.stringify(patch)}: ${res.body}`);
      assert.equal(res.json().errors[0].field, field);
      assert.match(res.json().errors[0].message, message);
    }
  });

  it('refuses an input the definition does not accept (422 naming body.input.<path>) and unknown definitions', async () => {
    const base = { id: sid('input'), definition: NAME, cron: CRON };
    const wrong = await create('admin', { ...base, input: { who: 42, times: 0 } });
    assert.equal(wrong.statusCode, 422, wrong.body);
    assert.deepEqual(wrong.json().errors.map((e: { field: string }) => e.field).sort(), ['body.input.times', 'body.input.who']);
    const missing = await create('admin', base);
    assert.equal(missing.statusCode, 422);
    assert.equal(missing.json().errors[0].field, 'body.input.who');
    const unknown = await create('admin', { ...base, definition: 'api-defs-nope', input: {} });
    assert.equal(unknown.statusCode, 422);
    assert.equal(unknown.json().errors[0].field, 'body.definition');
    const version = await create('admin', { ...base, version: 'deadbeef', input: { who: 'x' } });
    assert.equal(version.statusCode, 422);
    assert.equal(version.json().errors[0].field, 'body.version');
    assert.equal((await env.as('admin', { method: 'GET', url: `/v1/schedules/${base.id}` })).statusCode, 404, 'nothing was created');
  });

  it('answers 404 for unknown schedules on every route', async () => {
    const id = sid('ghost');
    assert.equal((await env.as('nobody', { method: 'GET', url: `/v1/schedules/${id}` })).statusCode, 404);
    for (const action of ['pause', 'unpause', 'trigger']) {
      const res = await post('admin', id, action);
      assert.equal(res.statusCode, 404, action);
      assert.match(res.json().detail, new RegExp(`no schedule '${id}'`));
    }
    assert.equal((await env.as('admin', { method: 'DELETE', url: `/v1/schedules/${id}` })).statusCode, 404);
  });

  it('a pinned version, a time zone and an overlap policy of choice; created paused', async () => {
    const res = await create('admin', { id: sid('opts'), definition: NAME, version: v1, input: { who: 'G' }, cron: '30 6 * * mon-fri', timezone: 'utc', overlap: 'buffer_one', paused: true });
    assert.equal(res.statusCode, 201, res.body);
    const s = res.json().schedule;
    assert.deepEqual([s.hash, s.timezone, s.overlap, s.paused, s.cron], [v1, 'UTC', 'buffer_one', true, '30 6 * * mon-fri']);
    assert.match(s.nextActionTimes[0], /T06:30:00\.000Z$/);
    assert.equal((await env.as('admin', { method: 'DELETE', url: `/v1/schedules/${s.id}` })).statusCode, 204);
  });

  it('only admins create, pause, unpause, trigger and delete (every identity)', async () => {
    const id = sid('authz');
    const routes: [string, (who: Who | 'anonymous') => ReturnType<typeof create>, number][] = [
      ['create', (who) => create(who, { id, definition: NAME, input: { who: 'x' }, cron: CRON }), 201],
      ['pause', (who) => post(who, id, 'pause'), 200],
      ['unpause', (who) => post(who, id, 'unpause', { note: 'back' }), 200],
      ['trigger', (who) => post(who, id, 'trigger'), 200],
      ['delete', (who) => env.as(who, { method: 'DELETE', url: `/v1/schedules/${id}` }), 204],
    ];
    for (const [name, call, ok] of routes) {
      for (const who of [...(Object.keys(IDENTITIES) as Who[]).filter((w) => !isAdmin(w)), 'anonymous' as const]) {
        const res = await call(who);
        assert.equal(res.statusCode, who === 'anonymous' ? 401 : 403, `${name} as ${who}: ${res.body}`);
      }
      const res = await call('admin');
      assert.equal(res.statusCode, ok, `${name} as admin: ${res.body}`);
    }
  });

  it("four-eyes for scheduled runs: neither the admin who created the schedule nor the one who triggered it approves the run; a third approver does", async () => {
    const registered = await env.as('admin', { method: 'POST', url: '/v1/definitions', payload: { source: APPROVAL_SOURCE } });
    assert.equal(registered.statusCode, 201, registered.body);
    const id = sid('four-eyes');
    const created = await create('adminSre', { id, definition: APPROVAL_NAME, cron: CRON });
    assert.equal(created.statusCode, 201, created.body);
    assert.equal(created.json().schedule.createdBy, IDENTITIES.adminSre.subject);
    const triggered = await post('adminSre2', id, 'trigger');
    assert.equal(triggered.statusCode, 200, triggered.body);

    const runId = await eventually(async () => {
      for await (const wf of env.temporal.client.workflow.list({ query: `CedilleDefinition = '${APPROVAL_NAME}'` })) if (wf.workflowId.startsWith(`${id}-`)) return wf.workflowId;
      return undefined;
    }, 15_000, 'the triggered run in visibility');
    const handle = env.temporal.client.workflow.getHandle(runId);
    try {
      await eventually(async () => {
        const res = await env.as('admin', { method: 'GET', url: `/v1/runs/${runId}` });
        return res.statusCode === 200 && res.json().graph?.nodes.some((n: { id: string; status: string }) => n.id === 'review' && n.status === 'waiting') ? true : undefined;
      }, 20_000, 'the approval waiting');
      const approve = (who: Who) => env.as(who, { method: 'POST', url: `/v1/runs/${runId}/steps/review/approve` });

      // The creator is the run's initiator; the admin who triggered it is excluded as well.
      for (const who of ['adminSre', 'adminSre2'] as const) {
        const refused = await approve(who);
        assert.equal(refused.statusCode, 409, `${who}: ${refused.body}`);
        assert.equal(refused.json().title, 'SelfApproval', who);
      }
      const run = (await env.as('admin', { method: 'GET', url: `/v1/runs/${runId}` })).json();
      assert.equal(run.run.initiator, IDENTITIES.adminSre.subject, 'the creator is recorded as the initiator');
      assert.deepEqual(run.graph.nodes.find((n: { id: string }) => n.id === 'review').approval.decisions, [], 'nothing counted');

      const approved = await approve('sre2');
      assert.equal(approved.statusCode, 200, approved.body);
      assert.equal(approved.json().status, 'approved');
    } finally {
      await handle.signal('finish').catch(() => undefined);
    }
    await handle.result();
  });

  it('cron and time zone checks', () => {
    for (const ok of ['* * * * *', '*/15 9-17 * * 1-5', '0 0 1,15 * *', '0 12 * JAN-MAR SUN', '@daily', '5 4 * * sun']) assert.equal(cronProblem(ok), undefined, ok);
    for (const bad of ['', '* * * *', '60 * * * *', '* 24 * * *', '* * 0 * *', '* * * 13 *', '* * * * 7', '5-1 * * * *', '*/0 * * * *', '* * * * FOO', 'a b c d e'])
      assert.ok(cronProblem(bad), bad);
    assert.equal(canonicalTimezone('america/toronto'), 'America/Toronto');
    assert.equal(canonicalTimezone('Nowhere/Special'), undefined);
  });
});
