// Incident routes other than the webhooks, against a real Temporal server and worker: declaring by
// hand, listing and reading incidents, notes and the owner's report (who may, what is refused, what
// the run receives), and their audit entries.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { eventually } from '../support/temporal.ts';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { builtinIncident, deliver, deliveredEvents, fixture, incidentIdOf, incidentsConfigYaml, intakeEnv, uniqueGroupKey, type IntakeEnv } from './_intake-support.ts';

let env: IntakeEnv;
before(async () => {
  env = await intakeEnv();
});
after(() => env?.close());

const REPORT = {
  summary: 'site-web of Capra was down for 40 minutes',
  impact: 'Capra members could not reach their site',
  rootCauses: 'A node drained without a PodDisruptionBudget',
  trigger: 'Node maintenance',
  resolution: 'Pods rescheduled; PDB added',
  detection: 'KubeDeploymentReplicasMismatch alert',
  actionItems: [{ title: 'PDB for every club deployment', owner: 'olivier-operator', due: '2026-12-05' }],
  lessons: 'Drain one node at a time',
};

async function declare(body: Record<string, unknown> = {}, who: 'operator' | 'sre' | 'admin' = 'operator') {
  const res = await env.as(who, { method: 'POST', url: '/v1/incidents', payload: { title: 'Capra site down', severity: 'critical', clubs: ['capra'], ...body } });
  assert.equal(res.statusCode, 201, res.body);
  return res.json().incident as { id: string; runId: string; owner: string; initiator: string; clubs?: string[]; kind?: string };
}

describe('POST /v1/incidents (declare)', () => {
  it("starts an incident-manual-* run; the owner is the club's owner from the config", async () => {
    const incident = await declare({ kind: 'availability', description: 'Reported on Discord', labels: { namespace: 'club-capra' } });
    assert.match(incident.id, /^incident-manual-[0-9a-z]+-[0-9a-f]{10}$/);
    assert.equal(incident.owner, 'olivier-operator');
    assert.equal(incident.initiator, 'olivier-operator');
    assert.equal(incident.kind, 'availability');
    const show = await env.as('nobody', { method: 'GET', url: `/v1/incidents/${incident.id}` });
    assert.equal(show.statusCode, 200, show.body);
    assert.equal(show.json().incident.title, 'Capra site down');
    assert.equal(show.json().incident.source, 'manual');
    const audit = await env.as('admin', { method: 'GET', url: `/v1/audit?action=incident.declare&target=${incident.id}` });
    assert.equal(audit.json().entries[0].actor, 'olivier-operator');
  });

  it('an explicit owner wins; without club or config owner it is the declarer', async () => {
    assert.equal((await declare({ owner: 'grace-sre' })).owner, 'grace-sre');
    assert.equal((await declare({ clubs: ['nobody-knows'] }, 'admin')).owner, 'ada-sre', "the config's default owner");
  });

  it('refuses bad bodies naming the field, and callers without operator rights', async () => {
    for (const [payload, field] of [
      [{ severity: 'critical' }, 'body.title'],
      [{ title: 'x', severity: '' }, 'body.severity'],
      [{ title: 'x', severity: 'critical', kind: 'weather' }, 'body.kind'],
      [{ title: 'x', severity: 'critical', clubs: 'capra' }, 'body.clubs'],
    ] as const) {
      const res = await env.as('operator', { method: 'POST', url: '/v1/incidents', payload });
      assert.equal(res.statusCode, 400, res.body);
      assert.ok(res.json().errors.some((e: { field: string }) => e.field === field), res.body);
    }
    assert.equal((await env.as('etsIt', { method: 'POST', url: '/v1/incidents', payload: { title: 'x', severity: 'critical' } })).statusCode, 403);
    assert.equal((await env.as('anonymous', { method: 'POST', url: '/v1/incidents', payload: { title: 'x', severity: 'critical' } })).statusCode, 401);
  });
});

describe('GET /v1/incidents', () => {
  it('lists incidents only (not other runs), newest first, and filters by status', async () => {
    const a = await declare({ title: 'first' });
    const b = await declare({ title: 'second' });
    const listed = await eventually(async () => {
      const res = await env.as('etsIt', { method: 'GET', url: '/v1/incidents?pageSize=200' });
      const ids = res.json().incidents.map((i: { id: string }) => i.id);
      return ids.includes(a.id) && ids.includes(b.id) ? res.json().incidents : undefined;
    }, 10_000, 'both listed');
    assert.ok(listed.every((i: { definition: string }) => i.definition === 'incident'));
    assert.ok(listed.findIndex((i: { id: string }) => i.id === b.id) < listed.findIndex((i: { id: string }) => i.id === a.id));
    const done = await env.as('etsIt', { method: 'GET', url: '/v1/incidents?status=completed' });
    assert.equal(done.statusCode, 200);
    assert.ok(!done.json().incidents.some((i: { id: string }) => i.id === a.id));
    assert.equal((await env.as('etsIt', { method: 'GET', url: '/v1/incidents?status=bogus' })).statusCode, 400);
    assert.equal((await env.as('anonymous', { method: 'GET', url: '/v1/incidents' })).statusCode, 401);
  });

  it('404 for an unknown incident and for a run that is not an incident', async () => {
    assert.equal((await env.as('etsIt', { method: 'GET', url: '/v1/incidents/incident-nope' })).statusCode, 404);
    assert.equal((await env.as('etsIt', { method: 'GET', url: '/v1/incidents/hello-world-123' })).statusCode, 400, 'not an incident id');
  });
});

describe('notes and the report', () => {
  it('an operator adds notes; the run receives them as `note` events', async () => {
    const incident = await declare();
    const res = await env.as('sre', { method: 'POST', url: `/v1/incidents/${incident.id}/notes`, payload: { text: 'Drained node-3 at 14:00' } });
    assert.equal(res.statusCode, 202, res.body);
    assert.equal(res.json().event, 'note');
    const events = await deliveredEvents(env, incident.id);
    assert.deepEqual(events.map((e) => e.name), ['note']);
    assert.equal(events[0]!.payload.author, 'ada-sre');
    assert.equal(events[0]!.payload.text, 'Drained node-3 at 14:00');
    assert.equal((await env.as('etsIt', { method: 'POST', url: `/v1/incidents/${incident.id}/notes`, payload: { text: 'hi' } })).statusCode, 403);
    const empty = await env.as('sre', { method: 'POST', url: `/v1/incidents/${incident.id}/notes`, payload: { text: '  ' } });
    assert.equal(empty.statusCode, 400);
    assert.equal(empty.json().errors[0].field, 'body.text');
    assert.equal((await env.as('sre', { method: 'POST', url: '/v1/incidents/incident-nope/notes', payload: { text: 'x' } })).statusCode, 404);
  });

  it('the owner or an admin submits the report; anyone else gets 403; bad fields 400', async () => {
    const incident = await declare(); // owner: olivier-operator (Capra's owner)
    const url = `/v1/incidents/${incident.id}/report`;
    assert.equal((await env.as('sre', { method: 'POST', url, payload: REPORT })).statusCode, 403);
    const bad = await env.as('operator', { method: 'POST', url, payload: { ...REPORT, actionItems: [{ title: 'x', owner: 'y', due: 'soon' }] } });
    assert.equal(bad.statusCode, 400);
    assert.equal(bad.json().errors[0].field, 'body.actionItems.0.due');
    const missing = await env.as('operator', { method: 'POST', url, payload: { ...REPORT, lessons: undefined } });
    assert.equal(missing.statusCode, 400);
    assert.equal(missing.json().errors[0].field, 'body.lessons');
    const ok = await env.as('operator', { method: 'POST', url, payload: REPORT });
    assert.equal(ok.statusCode, 202, ok.body);
    const byAdmin = await env.as('admin', { method: 'POST', url, payload: { ...REPORT, summary: 'amended' } });
    assert.equal(byAdmin.statusCode, 202, byAdmin.body);
    const events = await deliveredEvents(env, incident.id);
    assert.deepEqual(events.map((e) => [e.name, e.payload.submittedBy]), [['report', 'olivier-operator'], ['report', 'alice-admin']]);
    const audit = await env.as('admin', { method: 'GET', url: `/v1/audit?action=incident.report&target=${incident.id}` });
    assert.equal(audit.json().entries.length, 2);
  });

  it("without an owner from intake, the workflow's own choice (classify's owner) may submit", { skip: !builtinIncident() && 'needs the incident built-in' }, async () => {
    const clubs = join(env.configDir, 'clubs.yaml');
    writeFileSync(clubs, 'defaults: { owner: grace-sre }\n');
    process.env.CEDILLE_CLUBS_CONFIG = clubs; // read by incidents.classify in this process's worker
    const noOwners = await intakeEnv({}, incidentsConfigYaml().replace(/^owners:[\s\S]*$/m, ''));
    try {
      const key = uniqueGroupKey('owner-from-workflow');
      const opened = await deliver(noOwners, 'alertmanager', fixture('firing-two-alerts.json', key));
      assert.equal(opened.json().action, 'opened', opened.body);
      const id = incidentIdOf(key);
      const shown = await noOwners.as('sre', { method: 'GET', url: `/v1/incidents/${id}` });
      assert.equal(shown.json().incident.owner, undefined);
      await eventually(async () => {
        const g = (await noOwners.as('sre', { method: 'GET', url: `/v1/incidents/${id}` })).json().graph;
        return g?.nodes.find((n: { id: string; status: string }) => n.id === 'classify')?.status === 'completed' ? true : undefined;
      }, 20_000, 'classified');
      const url = `/v1/incidents/${id}/report`;
      assert.equal((await noOwners.as('sre', { method: 'POST', url, payload: REPORT })).statusCode, 403);
      const ok = await noOwners.as('sre2', { method: 'POST', url, payload: REPORT });
      assert.equal(ok.statusCode, 202, ok.body);
    } finally {
      delete process.env.CEDILLE_CLUBS_CONFIG;
      await noOwners.close();
    }
  });

  it('a closed incident refuses notes and reports (409)', async () => {
    const incident = await declare();
    await env.temporal.client.workflow.getHandle(incident.id).terminate('test');
    const note = await env.as('sre', { method: 'POST', url: `/v1/incidents/${incident.id}/notes`, payload: { text: 'late' } });
    assert.equal(note.statusCode, 409, note.body);
    const report = await env.as('admin', { method: 'POST', url: `/v1/incidents/${incident.id}/report`, payload: REPORT });
    assert.equal(report.statusCode, 409);
  });
});

describe('fuzzed incident routes', () => {
  it('never answer 5xx, whatever the id and body', async () => {
    const incident = await declare();
    const id = fc.oneof(fc.constant(incident.id), fc.string({ maxLength: 30 }).map((x) => `incident-${x}`), fc.string({ maxLength: 30 }), fc.constantFrom('incident-', 'incident-%00', `incident-${'a'.repeat(300)}`, 'incident-💥'));
    const body = fc.oneof(
      fc.jsonValue({ maxDepth: 3 }),
      fc.record({ title: fc.jsonValue(), severity: fc.jsonValue(), kind: fc.jsonValue(), clubs: fc.jsonValue(), owner: fc.jsonValue(), labels: fc.jsonValue() }, { requiredKeys: [] }),
      fc.record({ text: fc.oneof(fc.string(), fc.jsonValue()) }, { requiredKeys: [] }),
      fc.record({ ...Object.fromEntries(Object.keys(REPORT).map((k) => [k, fc.oneof(fc.string(), fc.jsonValue())])) }, { requiredKeys: [] }),
    );
    const route = fc.constantFrom('declare', 'show', 'notes', 'report', 'list');
    await fc.assert(
      fc.asyncProperty(route, id, body, fc.constantFrom<'admin' | 'operator' | 'nobody'>('admin', 'operator', 'nobody'), async (r, i, b, who) => {
        const path = `/v1/incidents/${encodeURIComponent(i)}`;
        const res =
          r === 'declare'
            ? await env.as(who, { method: 'POST', url: '/v1/incidents', payload: JSON.stringify(b), headers: { 'content-type': 'application/json' } })
            : r === 'list'
              ? await env.as(who, { method: 'GET', url: `/v1/incidents?status=${encodeURIComponent(JSON.stringify(b) ?? '')}` })
              : r === 'show'
                ? await env.as(who, { method: 'GET', url: path })
                : await env.as(who, { method: 'POST', url: `${path}/${r}`, payload: JSON.stringify(b), headers: { 'content-type': 'application/json' } });
        assert.ok(res.statusCode < 500, `${r} ${i}: ${res.statusCode} ${res.body}`);
      }),
      { numRuns: 120 },
    );
  });
});

