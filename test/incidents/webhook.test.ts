// Incident webhooks against a real Temporal server and worker, with recorded-format Alertmanager and
// Grafana payloads (test/fixtures/alertmanager/): resends and parallel deliveries open one incident,
// partial and full resolution reach the run as `alerts` and `resolved` events (once), resolved-first
// and late firings are handled, a group firing again after its incident closed opens a new one; API
// replicas sharing one database (embedded, or PostgreSQL with a pool each) open one incident.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { eventually, payloadValue } from '../support/temporal.ts';
import { buildApi } from '../../api/app.ts';
import { testDatabase } from '../support/postgres.ts';
import { deliver, deliveredEvents, executionCount, fixture, incidentIdOf, intakeEnv, uniqueGroupKey, type IntakeEnv } from './_intake-support.ts';

let env: IntakeEnv;
before(async () => {
  env = await intakeEnv();
});
after(() => env?.close());

const describeRun = async (id: string) => {
  try {
    return await env.temporal.client.workflow.getHandle(id).describe();
  } catch {
    return undefined;
  }
};

async function graphNode(id: string, step: string) {
  const res = await env.as('operator', { method: 'GET', url: `/v1/incidents/${id}` });
  assert.equal(res.statusCode, 200, res.body);
  return res.json().graph?.nodes.find((n: { id: string }) => n.id === step) as { status: string; error?: string; fanOut?: { failed: number } } | undefined;
}

/** The built-in incident's watch ended by the final `alerts`, not by failing its wrapper (WatchClosed). */
async function assertWatchEndedNormally(id: string) {
  const watching = await graphNode(id, 'watching');
  assert.equal(watching?.fanOut?.failed, 0, JSON.stringify(watching));
  for (const step of ['watch', 'untilResolved', 'resolution', 'updates']) assert.equal((await graphNode(id, step))?.status, 'completed', step);
}

describe('Alertmanager webhook: one incident per alert group', () => {
  it('a firing group sent five times opens one incident with the contract input', async () => {
    const key = uniqueGroupKey('five-resends');
    const body = fixture('firing-two-alerts.json', key);
    const actions: string[] = [];
    for (let i = 0; i < 5; i++) {
      const res = await deliver(env, 'alertmanager', body);
      assert.equal(res.statusCode, 202, res.body);
      actions.push(res.json().action);
      assert.equal(res.json().incidentId, incidentIdOf(key));
    }
    assert.deepEqual(actions, ['opened', 'duplicate', 'duplicate', 'duplicate', 'duplicate']);
    const id = incidentIdOf(key);
    assert.match(id, /^incident-[0-9a-f]{20}$/);
    await eventually(async () => ((await executionCount(env, id)) === 1 ? true : undefined), 10_000, 'one execution listed');
    assert.deepEqual(await deliveredEvents(env, id), [], 'resends deliver nothing');

    // The run's input follows docs/INCIDENTS.md.
    const history = await env.temporal.client.workflow.getHandle(id).fetchHistory();
    const started = history.events![0]!.workflowExecutionStartedEventAttributes!;
    const runInput = payloadValue(started.input!.payloads![0] as never) as { input: Record<string, unknown>; initiator: string };
    const input = runInput.input as { alerts: { endsAt?: string; fingerprint: string }[]; [k: string]: unknown };
    assert.equal(runInput.initiator, 'webhook:alertmanager');
    assert.equal(input.source, 'alertmanager');
    assert.equal(input.groupKey, key);
    assert.equal(input.severity, 'critical');
    assert.deepEqual(input.clubs, ['capra']);
    assert.equal(input.owner, 'olivier-operator');
    assert.equal(input.title, 'KubeDeploymentReplicasMismatch: Deployment has not matched the expected number of replicas.');
    assert.equal(input.receiver, 'cedille-workflows');
    assert.deepEqual(input.alerts.map((a) => a.fingerprint), ['6f1c7a0d2b9e4c11', 'a83e55b07d41f902']);
    assert.ok(input.alerts.every((a) => a.endsAt === undefined), "Alertmanager's zero endsAt is dropped");

    // Listed, with the memo's title, and audited.
    const list = await eventually(async () => {
      const res = await env.as('etsIt', { method: 'GET', url: '/v1/incidents' });
      const found = res.json().incidents.find((i: { id: string }) => i.id === id);
      return found;
    }, 10_000, 'incident listed');
    assert.equal(list.title, input.title);
    assert.equal(list.source, 'alertmanager');
    const audit = await env.as('admin', { method: 'GET', url: `/v1/audit?action=incident.webhook&target=${id}` });
    assert.equal(audit.json().entries.length, 5);
    assert.deepEqual(audit.json().entries.map((e: { details: { outcome: string } }) => e.details.outcome).sort(), ['duplicate', 'duplicate', 'duplicate', 'duplicate', 'opened']);
  });

  it('five concurrent deliveries open one incident', async () => {
    const key = uniqueGroupKey('five-concurrent');
    const body = fixture('firing-two-alerts.json', key);
    const results = await Promise.all(Array.from({ length: 5 }, () => deliver(env, 'alertmanager', body)));
    assert.deepEqual(results.map((r) => r.statusCode), [202, 202, 202, 202, 202]);
    assert.deepEqual(results.map((r) => r.json().action).sort(), ['duplicate', 'duplicate', 'duplicate', 'duplicate', 'opened']);
    const id = incidentIdOf(key);
    await eventually(async () => ((await executionCount(env, id)) === 1 ? true : undefined), 10_000, 'one execution listed');
  });

  it('two API replicas on one database racing: still one incident, the others see it', async () => {
    const other = await intakeEnv({}, undefined, env.database);
    try {
      const key = uniqueGroupKey('two-apis');
      const body = fixture('firing-two-alerts.json', key);
      const results = await Promise.all([deliver(env, 'alertmanager', body), deliver(other, 'alertmanager', body), deliver(env, 'alertmanager', body), deliver(other, 'alertmanager', body)]);
      assert.ok(results.every((r) => r.statusCode === 202), results.map((r) => r.body).join('\n'));
      assert.deepEqual(results.map((r) => r.json().action).sort(), ['duplicate', 'duplicate', 'duplicate', 'opened']);
      const id = incidentIdOf(key);
      await eventually(async () => ((await executionCount(env, id)) === 1 ? true : undefined), 10_000, 'one execution listed');
    } finally {
      await other.close();
    }
  });

  it('two API replicas on one PostgreSQL, each with its own connections: the same notification posted to both at once opens one incident', async () => {
    const url = await testDatabase('replicas');
    const replicas = [await intakeEnv({ DATABASE_URL: url }), await intakeEnv({ DATABASE_URL: url })];
    try {
      assert.deepEqual(replicas.map((r) => r.database.kind), ['postgres', 'postgres']);
      const key = uniqueGroupKey('two-replicas-pg');
      const body = fixture('firing-two-alerts.json', key);
      const results = await Promise.all([0, 1, 0, 1].map((i) => deliver(replicas[i]!, 'alertmanager', body)));
      assert.ok(results.every((r) => r.statusCode === 202), results.map((r) => r.body).join('\n'));
      assert.deepEqual(results.map((r) => r.json().action).sort(), ['duplicate', 'duplicate', 'duplicate', 'opened']);
      await eventually(async () => ((await executionCount(env, incidentIdOf(key))) === 1 ? true : undefined), 10_000, 'one execution listed');
    } finally {
      await Promise.all(replicas.map((r) => r.close()));
    }
  });

  it('a partial resolve sends `alerts`, the full resolve sends `resolved` once; the run goes on to its report', async () => {
    const key = uniqueGroupKey('resolve');
    const id = incidentIdOf(key);
    assert.equal((await deliver(env, 'alertmanager', fixture('firing-two-alerts.json', key))).json().action, 'opened');

    const partial = await deliver(env, 'alertmanager', fixture('partial-resolve.json', key), 'hmac');
    assert.equal(partial.statusCode, 202, partial.body);
    assert.equal(partial.json().action, 'updated');
    assert.equal(partial.json().alerts.changed, 1);
    assert.equal((await deliver(env, 'alertmanager', fixture('partial-resolve.json', key))).json().action, 'duplicate');

    const resolved = await deliver(env, 'alertmanager', fixture('resolved.json', key));
    assert.equal(resolved.json().action, 'resolved', resolved.body);
    for (let i = 0; i < 3; i++) assert.equal((await deliver(env, 'alertmanager', fixture('resolved.json', key))).json().action, 'duplicate');

    const events = await deliveredEvents(env, id);
    assert.deepEqual(events.map((e) => e.name), ['alerts', 'alerts', 'resolved']);
    const [first, second, last] = events as [(typeof events)[0], (typeof events)[0], (typeof events)[0]];
    assert.equal(first.payload.status, 'firing');
    assert.deepEqual((first.payload.alerts as { fingerprint: string; status: string }[]).map((a) => [a.fingerprint, a.status]), [['6f1c7a0d2b9e4c11', 'resolved']]);
    assert.deepEqual((second.payload.alerts as { fingerprint: string }[]).map((a) => a.fingerprint), ['a83e55b07d41f902']);
    assert.equal(last.payload.resolvedAt, '2026-11-21T14:46:16.482Z', 'the last endsAt');
    assert.equal((last.payload.alerts as unknown[]).length, 2);
    await eventually(async () => ((await graphNode(id, 'resolved'))?.status === 'completed' ? true : undefined), 15_000, 'resolved step completed');
  });

  it('a resolved group whose notification left alerts out (truncatedAlerts) resolves them all', async () => {
    const key = uniqueGroupKey('truncated');
    const id = incidentIdOf(key);
    assert.equal((await deliver(env, 'alertmanager', fixture('firing-two-alerts.json', key))).json().action, 'opened');
    const truncated = fixture('resolved.json', key);
    truncated.alerts = truncated.alerts.slice(1);
    truncated.truncatedAlerts = 1;
    assert.equal((await deliver(env, 'alertmanager', truncated)).json().action, 'resolved');
    const resolved = (await deliveredEvents(env, id)).find((e) => e.name === 'resolved');
    assert.deepEqual((resolved?.payload.alerts as { status: string }[]).map((a) => a.status), ['resolved', 'resolved']);
  });

  it('a normally resolved incident ends its watch: the graph shows the watch completed, not failed', async () => {
    const key = uniqueGroupKey('watch-ends');
    const id = incidentIdOf(key);
    assert.equal((await deliver(env, 'alertmanager', fixture('firing-two-alerts.json', key))).json().action, 'opened');
    assert.equal((await deliver(env, 'alertmanager', fixture('resolved.json', key))).json().action, 'resolved');

    const events = await deliveredEvents(env, id);
    assert.deepEqual(events.map((e) => [e.name, e.payload.final]), [['alerts', true], ['resolved', undefined]], 'the last `alerts` before `resolved` is final');
    await eventually(async () => ((await graphNode(id, 'resolved'))?.status === 'completed' ? true : undefined), 30_000, 'resolved step completed');
    await assertWatchEndedNormally(id);
  });

  it('a resolution listing nothing new still sends an empty final `alerts`, and the watch ends normally', async () => {
    const key = uniqueGroupKey('watch-ends-truncated');
    const id = incidentIdOf(key);
    assert.equal((await deliver(env, 'alertmanager', fixture('firing-two-alerts.json', key))).json().action, 'opened');
    assert.equal((await deliver(env, 'alertmanager', fixture('partial-resolve.json', key))).json().action, 'updated');
    // Only the alert already resolved is listed; the other is resolved by the sender's truncatedAlerts.
    const truncated = fixture('resolved.json', key);
    truncated.alerts = truncated.alerts.slice(0, 1);
    truncated.truncatedAlerts = 1;
    assert.equal((await deliver(env, 'alertmanager', truncated)).json().action, 'resolved');

    const events = await deliveredEvents(env, id);
    assert.deepEqual(events.map((e) => [e.name, e.payload.final]), [['alerts', undefined], ['alerts', true], ['resolved', undefined]]);
    assert.deepEqual(events[1]!.payload.alerts, []);
    await eventually(async () => ((await graphNode(id, 'resolved'))?.status === 'completed' ? true : undefined), 30_000, 'resolved step completed');
    await assertWatchEndedNormally(id);
  });

  it('resolved with no incident is recorded and ignored; its late firing opens nothing', async () => {
    const key = uniqueGroupKey('resolved-first');
    const id = incidentIdOf(key);
    const res = await deliver(env, 'alertmanager', fixture('resolved.json', key));
    assert.equal(res.statusCode, 202, res.body);
    assert.equal(res.json().action, 'ignored');
    assert.match(res.json().reason, /resolved, and no incident/);
    assert.equal(await describeRun(id), undefined);

    const late = await deliver(env, 'alertmanager', fixture('firing-two-alerts.json', key));
    assert.equal(late.json().action, 'ignored');
    assert.match(late.json().reason, /stale/);
    assert.equal(late.json().alerts.stale, 2);
    assert.equal(await describeRun(id), undefined);
  });

  it('what intake remembers is durable: an API restarted on the same data dir goes on where the last one stopped', async () => {
    const restarted = await buildApi({ config: env.config, database: env.database });
    await restarted.ready();
    const again = { app: restarted } as unknown as IntakeEnv;
    try {
      const early = uniqueGroupKey('restart-resolved-first');
      assert.equal((await deliver(env, 'alertmanager', fixture('resolved.json', early))).json().action, 'ignored');
      const late = await deliver(again, 'alertmanager', fixture('firing-two-alerts.json', early));
      assert.equal(late.json().action, 'ignored');
      assert.match(late.json().reason, /stale/);

      const key = uniqueGroupKey('restart');
      const id = incidentIdOf(key);
      assert.equal((await deliver(env, 'alertmanager', fixture('firing-two-alerts.json', key))).json().action, 'opened');
      assert.equal((await deliver(again, 'alertmanager', fixture('firing-two-alerts.json', key))).json().action, 'duplicate');
      const partial = (await deliver(again, 'alertmanager', fixture('partial-resolve.json', key))).json();
      assert.equal(partial.action, 'updated');
      assert.equal(partial.alerts.changed, 1);
      assert.deepEqual((await deliveredEvents(env, id)).map((e) => e.name), ['alerts']);
    } finally {
      await restarted.close();
    }
  });

  it('after its incident closed: a repeat of the same alerts is ignored, a new episode opens a new incident', async () => {
    const key = uniqueGroupKey('reopen');
    const id = incidentIdOf(key);
    const body = fixture('firing-two-alerts.json', key);
    const first = (await deliver(env, 'alertmanager', body)).json();
    assert.equal(first.action, 'opened');
    await env.temporal.client.workflow.getHandle(id).terminate('test: closed by hand');

    const repeat = await deliver(env, 'alertmanager', body);
    assert.equal(repeat.json().action, 'ignored');
    assert.match(repeat.json().reason, /already covered/);

    const again = fixture('firing-two-alerts.json', key);
    again.alerts[0]!.startsAt = '2026-11-21T18:00:00Z';
    const reopened = (await deliver(env, 'alertmanager', again)).json();
    assert.equal(reopened.action, 'opened');
    assert.equal(reopened.incidentId, `${id}-1`, "the group's second incident");
    assert.notEqual(reopened.runId, first.runId);
    assert.equal((await deliver(env, 'alertmanager', again)).json().action, 'duplicate');
    await eventually(async () => ((await executionCount(env, `${id}-1`)) === 1 ? true : undefined), 10_000, 'one execution of the second incident');
  });

  it('a new episode while the incident is in its report phase (resolved, still running) opens the next incident', async () => {
    const key = uniqueGroupKey('refire-after-resolved');
    const id = incidentIdOf(key);
    assert.equal((await deliver(env, 'alertmanager', fixture('firing-two-alerts.json', key))).json().action, 'opened');
    assert.equal((await deliver(env, 'alertmanager', fixture('resolved.json', key))).json().action, 'resolved');
    assert.equal((await describeRun(id))?.status.name, 'RUNNING', 'the first incident waits for its report');
    // A late firing of the resolved episode is stale; the same alert firing again is a new incident.
    assert.equal((await deliver(env, 'alertmanager', fixture('firing-two-alerts.json', key))).json().action, 'duplicate');
    const again = fixture('firing-two-alerts.json', key);
    again.alerts = [{ ...again.alerts[1]!, startsAt: '2026-11-21T20:00:00Z' }];
    const next = (await deliver(env, 'alertmanager', again)).json();
    assert.equal(next.action, 'opened');
    assert.equal(next.incidentId, `${id}-1`);
    assert.deepEqual((await deliveredEvents(env, id)).map((e) => e.name), ['alerts', 'resolved'], 'the first incident is not told');
    assert.equal((await deliver(env, 'alertmanager', fixture('resolved.json', key))).json().action, 'duplicate', 'an old resolved changes nothing');
    const resolvedAgain = fixture('resolved.json', key);
    resolvedAgain.alerts = [{ ...again.alerts[0]!, status: 'resolved', endsAt: '2026-11-21T20:30:00Z' }];
    const resolvedNext = await deliver(env, 'alertmanager', resolvedAgain);
    assert.equal(resolvedNext.json().action, 'resolved', resolvedNext.body);
    assert.deepEqual((await deliveredEvents(env, `${id}-1`)).map((e) => e.name), ['alerts', 'resolved']);
  });

  it('alerts the rules do not select are ignored (severity, excluded or not included namespace)', async () => {
    for (const [labels, why] of [
      [{ severity: 'warning' }, /severity=warning/],
      [{ namespace: 'club-sandbox' }, /club-sandbox is excluded/],
      [{ namespace: 'kube-system' }, /kube-system is not included/],
    ] as const) {
      const key = uniqueGroupKey('rules');
      const body = fixture('firing-two-alerts.json', key);
      body.commonLabels = { ...(body.commonLabels as object), ...labels };
      for (const a of body.alerts) a.labels = { ...(a.labels as object), ...labels };
      const res = await deliver(env, 'alertmanager', body);
      assert.equal(res.statusCode, 202, res.body);
      assert.equal(res.json().action, 'ignored');
      assert.match(res.json().reason, why);
      assert.equal(res.json().alerts.skipped, 2);
      assert.equal(await describeRun(incidentIdOf(key)), undefined);
    }
  });
});

describe('Grafana webhook', () => {
  it("opens an incident from Grafana's variant (its title, clubs from the namespace) and resolves it", async () => {
    const key = uniqueGroupKey('grafana');
    const id = incidentIdOf(key);
    const res = await deliver(env, 'grafana', fixture('grafana-firing.json', key));
    assert.equal(res.statusCode, 202, res.body);
    assert.equal(res.json().action, 'opened');
    const show = await env.as('sre', { method: 'GET', url: `/v1/incidents/${id}` });
    assert.equal(show.statusCode, 200, show.body);
    const { incident } = show.json();
    // Grafana's state prefix ([FIRING:1], [RESOLVED]) changes per notification: not part of the incident's title.
    assert.equal(incident.title, 'HighErrorRate Clubs (club-dronolab dronolab-web critical)');
    assert.deepEqual(incident.clubs, ['dronolab']);
    assert.equal(incident.owner, 'ada-sre', "no club owner: the config's default");
    assert.equal(incident.source, 'grafana');
    assert.equal((await deliver(env, 'grafana', fixture('grafana-firing.json', key))).json().action, 'duplicate');
    assert.equal((await deliver(env, 'grafana', fixture('grafana-resolved.json', key))).json().action, 'resolved');
    await eventually(async () => ((await graphNode(id, 'resolved'))?.status === 'completed' ? true : undefined), 15_000, 'resolved step completed');
  });
});
