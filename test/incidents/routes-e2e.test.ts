// From the alert to the published report through the HTTP API only, with the built-in `incident`
// workflow on a real Temporal server and worker: an Alertmanager webhook opens the incident (resent),
// an operator adds a note, the resolved notification resolves it, the owner submits the report, an
// SRE approves it through the approvals route, and the report lands in the wiki (a real bare git
// repository). Notifications go to the worker log (no CEDILLE_NOTIFY_CONFIG). A webhook incident's
// kind, which only the workflow's classification knows, shows in the list and show answers and in
// `cedille incidents list` (the CLI as a child process against this API, listening on loopback).
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { eventually } from '../support/temporal.ts';
import { runCli, show } from '../cli/_support.ts';
import { scratchDir, seedRemote, type TestRemote } from '../support/git.ts';
import { builtinIncident, deliver, fixture, incidentIdOf, intakeEnv, uniqueGroupKey, type IntakeEnv } from './_intake-support.ts';

let env: IntakeEnv;
let wiki: TestRemote;
let url: string;
before(async () => {
  if (!builtinIncident()) return;
  wiki = await seedRemote({ files: { 'README.md': '# Wiki\n' } });
  // Read by the workflow's activities, which run in this process's worker.
  process.env.CEDILLE_INCIDENTS_WIKI = wiki.path;
  process.env.CEDILLE_GIT_WORKDIR = scratchDir('workdir');
  const clubs = join(scratchDir('clubs'), 'clubs.yaml');
  writeFileSync(clubs, 'clubs:\n  - { id: capra, name: Capra, namespaces: [club-capra] }\nadmins: [sre]\ndefaults: { owner: ada-sre }\n');
  process.env.CEDILLE_CLUBS_CONFIG = clubs;
  env = await intakeEnv();
  await env.app.listen({ host: '127.0.0.1', port: 0 });
  url = `http://127.0.0.1:${(env.app.server.address() as { port: number }).port}`;
});
after(() => env?.close());

describe('incident through the API, end to end', { skip: !builtinIncident() && 'the incident definition is not built in yet' }, () => {
  it('webhook → note → resolved → owner report → SRE approval → published', { timeout: 110_000 }, async () => {
    const key = uniqueGroupKey('e2e');
    const id = incidentIdOf(key);
    const node = async (step: string) => {
      const res = await env.as('sre', { method: 'GET', url: `/v1/incidents/${id}` });
      return (res.json().graph?.nodes as { id: string; status: string; error?: string }[] | undefined)?.find((n) => n.id === step);
    };
    const until = (step: string, status: string, timeoutMs = 30_000) =>
      eventually(async () => ((await node(step))?.status === status ? true : undefined), timeoutMs, `${step} ${status}`).catch(async (err) => {
        const g = (await env.as('sre', { method: 'GET', url: `/v1/incidents/${id}` })).json().graph;
        throw new Error(`${(err as Error).message}: ${JSON.stringify(g?.nodes.filter((n: { status: string }) => n.status !== 'pending').map((n: { id: string; status: string; error?: string }) => `${n.id}=${n.status}${n.error ? ` ${n.error}` : ''}`))}`);
      });

    assert.equal((await deliver(env, 'alertmanager', fixture('firing-two-alerts.json', key))).json().action, 'opened');
    assert.equal((await deliver(env, 'alertmanager', fixture('firing-two-alerts.json', key), 'hmac')).json().action, 'duplicate');
    await until('classify', 'completed');
    const note = await env.as('operator', { method: 'POST', url: `/v1/incidents/${id}/notes`, payload: { text: 'Drained node-3 at 14:00; site-web rescheduled' } });
    assert.equal(note.statusCode, 202, note.body);

    assert.equal((await deliver(env, 'alertmanager', fixture('partial-resolve.json', key))).json().action, 'updated');
    assert.equal((await deliver(env, 'alertmanager', fixture('resolved.json', key))).json().action, 'resolved');
    await until('submitted', 'waiting', 60_000);

    // The owner (Capra's, from the incidents config) submits; the SRE review waits for another person.
    const report = {
      summary: 'site-web and site-api of Capra were unavailable for 40 minutes',
      rootCauses: 'A node drained without a PodDisruptionBudget',
      trigger: 'Node maintenance',
      resolution: 'Pods rescheduled; PodDisruptionBudgets added',
      detection: 'KubeDeploymentReplicasMismatch',
      actionItems: [{ title: 'PDB for every club deployment', owner: 'olivier-operator', due: '2026-12-05' }],
      lessons: 'Drain one node at a time',
    };
    assert.equal((await env.as('sre', { method: 'POST', url: `/v1/incidents/${id}/report`, payload: report })).statusCode, 403, 'not the owner');
    const submitted = await env.as('operator', { method: 'POST', url: `/v1/incidents/${id}/report`, payload: report });
    assert.equal(submitted.statusCode, 202, submitted.body);
    await until('sreReview', 'waiting');
    const approved = await env.as('sre', { method: 'POST', url: `/v1/runs/${id}/steps/sreReview/approve`, payload: { comment: 'clear and complete' } });
    assert.equal(approved.statusCode, 200, approved.body);
    assert.equal(approved.json().status, 'approved');

    await until('publish', 'completed', 60_000);
    const files = await wiki.files('main');
    const published = Object.entries(files).find(([path]) => path !== 'README.md');
    assert.ok(published, `a report in the wiki: ${Object.keys(files).join(', ')}`);
    assert.match(published[1], /Capra/);
    assert.match(published[1], /Drain one node at a time/);

    const audit = await env.as('admin', { method: 'GET', url: `/v1/audit?target=${id}` });
    assert.deepEqual(
      audit.json().entries.map((e: { action: string }) => e.action).reverse(),
      ['incident.webhook', 'incident.webhook', 'incident.note', 'incident.webhook', 'incident.webhook', 'incident.report', 'approval.approve'],
    );
  });

  it('a webhook incident shows the kind its run classified, in the list and show answers and the CLI list', { timeout: 60_000 }, async () => {
    const availabilityKey = uniqueGroupKey('kind-availability');
    const securityKey = uniqueGroupKey('kind-security');
    const expected: Record<string, string> = { [incidentIdOf(availabilityKey)]: 'availability', [incidentIdOf(securityKey)]: 'security' };
    // Intake never sets a webhook incident's kind: a `category` label of security makes classify say so.
    const labelled = fixture('firing-two-alerts.json', securityKey);
    const withCategory = (labels: unknown) => ({ ...(labels as Record<string, string>), category: 'security' });
    const securityBody = { ...labelled, commonLabels: withCategory(labelled.commonLabels), alerts: labelled.alerts.map((a) => ({ ...a, labels: withCategory(a.labels) })) };
    assert.equal((await deliver(env, 'alertmanager', fixture('firing-two-alerts.json', availabilityKey))).json().action, 'opened');
    assert.equal((await deliver(env, 'alertmanager', securityBody)).json().action, 'opened');

    for (const [id, kind] of Object.entries(expected)) {
      const shown = await eventually(async () => {
        const res = await env.as('sre', { method: 'GET', url: `/v1/incidents/${id}` });
        const classified = (res.json().graph?.nodes as { id: string; status: string }[] | undefined)?.some((n) => n.id === 'classify' && n.status === 'completed');
        return classified ? (res.json() as { incident: { kind?: string } }) : undefined;
      }, 30_000, `${id} classified`);
      assert.equal(shown.incident.kind, kind, `show ${id}`);
    }

    const listed = await eventually(async () => {
      const res = await env.as('sre', { method: 'GET', url: '/v1/incidents?pageSize=200' });
      const found = (res.json().incidents as { id: string; kind?: string }[]).filter((i) => i.id in expected);
      return found.length === 2 ? found : undefined;
    }, 20_000, 'both incidents listed');
    assert.deepEqual(Object.fromEntries(listed.map((i) => [i.id, i.kind])), expected);

    const cli = await runCli(['incidents', 'list', '-n', '200'], { XDG_CONFIG_HOME: scratchDir('cli-config'), CEDILLE_API_URL: url, CEDILLE_TOKEN: env.tokens.sre });
    assert.equal(cli.code, 0, show(cli));
    for (const [id, kind] of Object.entries(expected)) assert.match(cli.stdout, new RegExp(`^${id}\\s.*\\s${kind}$`, 'm'), cli.stdout);
  });
});
