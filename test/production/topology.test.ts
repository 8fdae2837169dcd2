// Issue 14: two APIs and two workers on the real Temporal server and PostgreSQL, each the deployment's own
// entry point in a process of its own, sharing nothing but the servers and their configuration. Shared
// state holds across replicas (incidents, links, definitions), and runs survive a worker SIGKILLed mid
// fan-out, an API SIGKILLed mid-request, the Temporal server restarted and PostgreSQL crashing.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdtempSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { signLink } from '../../api/links/token.ts';
import { incidentIdOf } from '../../api/incidents/intake.ts';
import { graphQuery } from '../../workflows/interpreter/messages.ts';
import type { FanOutOutput } from '../../workflows/interpreter/steps/for-each.ts';
import { eventually } from '../support/temporal.ts';
import { call, startTopology, type Topology } from '../support/topology.ts';
import { fixture, incidentsConfigYaml, SECRETS, uniqueGroupKey } from '../incidents/_intake-support.ts';

let topo: Topology;
before(async () => {
  topo = await startTopology({ incidentsConfig: incidentsConfigYaml(), env: { TEST_GRAFANA_SECRET: SECRETS.grafana } });
});
after(async () => {
  await topo?.close();
});

const suffix = () => randomUUID().slice(0, 8);
const REPO = fileURLToPath(new URL('../..', import.meta.url));
/**
 * The release running in production before this one: the commit the upgrade test starts runs with. Move it
 * forward at each release (never to make the test pass): a run it started must finish on this code.
 */
const PREVIOUS_RELEASE = '5207bea92332';
const admin = () => topo.token('admin');
const operator = () => topo.token('operator');

/** Registers a definition named `name` (its `spec` given as YAML lines) through one of the APIs. */
async function register(apiIndex: number, name: string, spec: string): Promise<{ name: string; hash: string }> {
  const source = `apiVersion: workflows.cedille.etsmtl.ca/v1alpha1\nkind: WorkflowDefinition\nmetadata: { name: ${name} }\nspec:\n${spec}`;
  const res = await call(topo.apis[apiIndex]!, admin(), 'POST', '/v1/definitions', { source });
  assert.equal(res.status, 201, res.text);
  return res.json.definition!;
}

/** Édith's link for a run's `review` step, as notify.send would mail it (same key, same claims). */
function edithsLink(workflowId: string, nonce: string): string {
  return signLink({ workflowId, stepId: 'review', approver: 'edith', groups: ['ets-it'], exp: Math.floor(Date.now() / 1000) + 3600, nonce }, topo.linkSecret);
}

/** Opens a link's page on one API; its form nonce when it shows the form. */
async function linkPage(apiIndex: number, token: string): Promise<{ status: number; text: string; form?: string }> {
  const res = await fetch(`${topo.apis[apiIndex]!.url}/approve/${token}`);
  const text = await res.text();
  const form = /name="form" value="([^"]+)"/.exec(text)?.[1];
  return { status: res.status, text, ...(form ? { form } : {}) };
}

/** Answers a link through one API with the form of its page; the status of the answer. */
async function answerLink(apiIndex: number, token: string, decision: 'approve' | 'reject', form: string): Promise<number> {
  const res = await fetch(`${topo.apis[apiIndex]!.url}/approve/${token}`, { method: 'POST', body: new URLSearchParams({ decision, form }) });
  return res.status;
}

async function waitingAt(workflowId: string, step: string): Promise<void> {
  const handle = topo.client.workflow.getHandle(workflowId);
  await eventually(async () => ((await handle.query(graphQuery)).nodes.find((n) => n.id === step)?.status === 'waiting' ? true : undefined), 120_000, `${step} to wait`);
}

async function result(workflowId: string): Promise<unknown> {
  return topo.client.workflow.getHandle(workflowId).result();
}

describe('two APIs and two workers on one Temporal server and one PostgreSQL', () => {
  it('a definition registered through API A starts through API B, and by its type name from a plain Temporal client', async () => {
    const s = suffix();
    const def = await register(0, `topo-greet-${s}`, `  workflowType: topoGreet${s}
  steps:
    - id: greet
      activity: core.echo
      with: { value: "hello \${{ inputs.who }}" }
  output: "\${{ steps.greet.output.value }}"
`);
    const listed = await call(topo.apis[1]!, operator(), 'GET', '/v1/definitions');
    assert.ok(listed.json.definitions!.some((d) => d.name === def.name && d.hash === def.hash), 'B lists it');
    const viaB = await call(topo.apis[1]!, operator(), 'POST', '/v1/runs', { definition: def.name, input: { who: 'B' } });
    assert.equal(viaB.status, 201, viaB.text);
    assert.equal(await result(viaB.json.run!.id), 'hello B');

    // No API involved: the workers resolve the type name from the platform database.
    const h = await topo.client.workflow.start(`topoGreet${s}`, { taskQueue: topo.taskQueue, workflowId: `plain-${s}`, args: [{ who: 'Temporal' }] });
    assert.equal(await h.result(), 'hello Temporal');
  });

  it('the same Alertmanager notification posted to both APIs at once opens one incident', async () => {
    const key = uniqueGroupKey('topology');
    const body = JSON.stringify(fixture('firing-two-alerts.json', key));
    const post = (i: number) =>
      fetch(`${topo.apis[i]!.url}/v1/incidents/webhooks/alertmanager`, { method: 'POST', headers: { 'content-type': 'application/json', authorization: `Bearer ${SECRETS.bearer}` }, body }).then(async (r) => ({ status: r.status, json: (await r.json()) as { action: string } }));
    const answers = await Promise.all([0, 1, 0, 1, 0, 1].map(post));
    assert.deepEqual(answers.map((a) => a.status), [202, 202, 202, 202, 202, 202]);
    assert.deepEqual(answers.map((a) => a.json.action).sort(), ['duplicate', 'duplicate', 'duplicate', 'duplicate', 'duplicate', 'opened']);
    const workflowId = incidentIdOf(key);
    const executions = async () => {
      let n = 0;
      for await (const _ of topo.client.workflow.list({ query: `WorkflowId = '${workflowId}'` })) n++;
      return n;
    };
    await eventually(async () => ((await executions()) === 1 ? true : undefined), 30_000, 'the incident run listed');
    await topo.client.workflow.getHandle(workflowId).terminate('test over');
    assert.equal(await executions(), 1);
  });

  it('an approval link used through API A is refused through API B', async () => {
    const s = suffix();
    const def = await register(0, `topo-approve-${s}`, `  steps:
    - id: review
      approval: { title: Topology, groups: [ets-it], quorum: 1, timeout: 1h, onTimeout: reject }
  output: done
`);
    const started = await call(topo.apis[0]!, operator(), 'POST', '/v1/runs', { definition: def.name });
    assert.equal(started.status, 201, started.text);
    const workflowId: string = started.json.run!.id;
    await waitingAt(workflowId, 'review');
    const token = edithsLink(workflowId, `nonce-${s}`);
    const shown = await linkPage(0, token);
    assert.ok(shown.form, `A shows the form: ${shown.status} ${shown.text.replace(/<[^>]+>/g, ' ').replace(/\s+/g, ' ').slice(0, 600)}`);
    assert.equal(await answerLink(0, token, 'approve', shown.form), 200);
    assert.equal(await result(workflowId), 'done');
    const onB = await linkPage(1, token);
    assert.equal(onB.status, 409);
    assert.match(onB.text, /already used/);
    assert.equal(await answerLink(1, token, 'reject', shown.form), 409);
  });

  it('a 2,000-item fan-out finishes through a worker SIGKILL, a Temporal server restart and a PostgreSQL crash; every item once', { timeout: 900_000 }, async () => {
    const s = suffix();
    const def = await register(1, `topo-fan-${s}`, `  input:
    type: object
    properties: { items: { type: array, items: { type: integer } } }
    required: [items]
  steps:
    - id: fan
      forEach:
        items: "\${{ inputs.items }}"
        concurrency: 20
        steps:
          - id: echo
            activity: core.echo
            with: { value: "\${{ item }}" }
        output: "\${{ steps.echo.output.value }}"
  output: "\${{ steps.fan.output }}"
`);
    const items = Array.from({ length: 2000 }, (_, i) => i);
    const started = await call(topo.apis[0]!, operator(), 'POST', '/v1/runs', { definition: def.name, input: { items } });
    assert.equal(started.status, 201, started.text);
    const workflowId: string = started.json.run!.id;
    const handle = topo.client.workflow.getHandle(workflowId);
    const succeeded = async () => (await handle.query(graphQuery)).nodes.find((n) => n.id === 'fan')?.fanOut?.succeeded ?? 0;
    const progressed = (past: number, what: string) => eventually(async () => ((await succeeded().catch(() => 0)) > past ? true : undefined), 300_000, what);
    const t0 = Date.now();
    const figures: string[] = [];

    // The three outages overlap the run: the worker is still coming back when the server restarts.
    await progressed(100, 'the first items');
    figures.push(`worker-0 SIGKILLed at ${await succeeded()} items`);
    await topo.workers[0]!.kill();
    const workerBack = topo.workers[0]!.start();
    await topo.temporal.server.restart();
    figures.push(`temporal server restarted by ${await succeeded()} items`);
    await progressed((await succeeded()) + 20, 'progress after the server restart');
    figures.push(`postgresql crashed (immediate) at ${await succeeded()} items`);
    await topo.temporal.postgres.restart('immediate');
    await workerBack;

    const output = (await handle.result()) as FanOutOutput;
    console.log(`# 2,000 items in ${Date.now() - t0} ms; ${figures.join('; ')}`);
    assert.deepEqual([output.total, output.succeeded, output.failed], [2000, 2000, 0]);
    assert.deepEqual(output.results.map((r) => [r.index, r.status, r.output]), items.map((i) => [i, 'completed', i]), 'every item, in order');
    // The API, on the same PostgreSQL, answers again once it is back (its pool replaces dead connections).
    await eventually(async () => ((await call(topo.apis[0]!, admin(), 'GET', `/v1/audit?target=${workflowId}`)).status === 200 ? true : undefined), 60_000, 'the API to read its database again');
    const audit = await call(topo.apis[0]!, admin(), 'GET', `/v1/audit?target=${workflowId}`);
    assert.deepEqual(audit.json.entries!.map((e) => e.action), ['run.start']);
  });

  it('an API SIGKILLed mid-request: the retries through the other API give one run per idempotency key, each recorded once', { timeout: 300_000 }, async () => {
    const s = suffix();
    const def = await register(0, `topo-idem-${s}`, `  steps:
    - id: greet
      activity: core.echo
      with: { value: "\${{ inputs.n }}" }
  output: "\${{ steps.greet.output.value }}"
`);
    const keys = Array.from({ length: 30 }, (_, i) => `key-${s}-${i}`);
    const body = (i: number) => ({ definition: def.name, input: { n: i }, idempotencyKey: keys[i] });
    let answered = 0;
    const first = keys.map((_, i) =>
      call(topo.apis[0]!, operator(), 'POST', '/v1/runs', body(i)).then(
        (r) => {
          answered++;
          return r.status;
        },
        () => 'cut' as const,
      ),
    );
    // Killed once some answers came back and others are still in flight.
    await eventually(async () => (answered >= 3 ? true : undefined), 60_000, 'first answers');
    await topo.apis[0]!.kill();
    const outcomes = await Promise.all(first);
    const cut = outcomes.filter((o) => o === 'cut').length;
    console.log(`# API killed with ${cut} of ${keys.length} requests cut`);
    assert.ok(cut > 0, 'some requests were in flight');

    // The client retries every request through B (the same keys and bodies).
    const retried = await Promise.all(keys.map((_, i) => call(topo.apis[1]!, operator(), 'POST', '/v1/runs', body(i))));
    assert.ok(retried.every((r) => r.status === 200 || r.status === 201), retried.map((r) => r.text).join('\n'));
    const ids = retried.map((r) => r.json.run!.id);
    assert.equal(new Set(ids).size, keys.length, 'one run per key');
    for (const [i, id] of ids.entries()) assert.equal(await result(id), i);
    await topo.apis[0]!.start();
    for (const id of ids) {
      const audit = await call(topo.apis[0]!, topo.token('admin'), 'GET', `/v1/audit?target=${encodeURIComponent(id)}&action=run.start`);
      assert.equal(audit.json.entries!.length, 1, `one run.start entry for ${id}`);
    }
  });

  it(`upgrade: a run started by the previous release's worker (${PREVIOUS_RELEASE}) finishes on this release's workers`, { timeout: 600_000 }, async () => {
    // The previous release's source tree (from git), on this tree's node_modules (a superset of its dependencies).
    const old = mkdtempSync(join(process.env.CEDILLE_TEST_SCRATCH ?? tmpdir(), 'previous-release-'));
    execFileSync('sh', ['-c', `git -C "${REPO}" archive ${PREVIOUS_RELEASE} | tar -x -C "${old}"`]);
    symlinkSync(join(REPO, 'node_modules'), join(old, 'node_modules'));
    const s = suffix();
    const def = await register(0, `topo-upgrade-${s}`, `  steps:
    - id: before
      activity: core.echo
      with: { value: before }
    - id: review
      approval: { title: Upgrade, groups: [ets-it], quorum: 1, timeout: 1h, onTimeout: reject }
    - id: after
      activity: core.echo
      with: { value: after }
  output: "\${{ steps.before.output.value }}-\${{ steps.after.output.value }}"
`);
    await Promise.all(topo.workers.map((w) => w.kill()));
    const previous = topo.workerOf(old, 'previous-release-worker');
    await previous.start();
    const started = await call(topo.apis[0]!, operator(), 'POST', '/v1/runs', { definition: def.name });
    assert.equal(started.status, 201, started.text);
    const handle = topo.client.workflow.getHandle(started.json.run!.id);
    await waitingAt(handle.workflowId, 'review');

    await previous.kill();
    for (const w of topo.workers) await w.start();
    const token = edithsLink(handle.workflowId, `upgrade-${s}`);
    const shown = await linkPage(1, token);
    assert.ok(shown.form, 'the page shows the form');
    assert.equal(await answerLink(1, token, 'approve', shown.form), 200);
    assert.equal(await handle.result(), 'before-after');
    const echoes = (await handle.fetchHistory()).events!.filter((e) => e.activityTaskScheduledEventAttributes?.activityType?.name === 'core.echo');
    assert.equal(echoes.length, 2, 'each step ran once, across the two releases');
  });
});
