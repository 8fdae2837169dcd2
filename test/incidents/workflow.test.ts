// The built-in `incident` workflow end to end on the real servers: started by its workflow type with
// the Temporal client (the HTTP intake is tested with the API), notifications to a local Discord
// webhook peer and SMTP server, a Kubernetes event in the affected namespace and a platform run in
// the window (real API server, real Temporal visibility), the report committed to a real bare git
// repository. Review durations are shortened through the input (production: 5 business days).
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { WorkflowHandle } from '@temporalio/client';
import { answerApprovalUpdate, sendEventUpdate } from '../../workflows/interpreter/messages.ts';
import { temporalTestEnv, eventually, signedAnswer, type TemporalTestEnv } from '../support/temporal.ts';
import { kubeClients, testNamespace } from '../support/cluster.ts';
import { scratchDir, seedRemote, type TestRemote } from '../support/git.ts';
import { discordReceiver, smtpCapture, type DiscordReceiver, type SmtpCapture } from '../notify/_servers.ts';
import { notifyConfigFile } from '../notify/_config.ts';
import { runFailure } from '../activities/_support.ts';
import { loadCatalog } from '../../activities/catalog.ts';
import { DefinitionRegistry } from '../../workflows/registry/index.ts';
import type { CompiledDefinition } from '../../workflows/dsl/compiled.ts';
import { useClubsConfig } from './_clubs.ts';

const ns = await testNamespace('incident-wf');
const quietNs = await testNamespace('incident-quiet');
// Set up at file level: the helpers register their cleanup with `after`, which must belong to the file.
const discord: DiscordReceiver = await discordReceiver();
const smtp: SmtpCapture = await smtpCapture();
const notifyDir = mkdtempSync(join(tmpdir(), 'incident-notify-'));
useClubsConfig({
  clubs: [
    { id: 'radio', name: 'Radio Piranha', namespaces: [ns], apps: ['radio-prod'], discord: `${discord.url}/webhooks/club-radio`, members: [{ name: 'Jeanne Roy', email: 'jeanne.roy@etsmtl.ca' }] },
    { id: 'quiet', name: 'Club Quiet', namespaces: [quietNs], discord: `${discord.url}/webhooks/club-quiet`, email: 'quiet@club.test' },
  ],
  admins: ['sre'],
  etsIt: ['ets-it'],
  defaults: { owner: 'ada', maxUpdates: 5 },
});
process.env.CEDILLE_NOTIFY_CONFIG = notifyConfigFile(discord, smtp, notifyDir);
const wiki: TestRemote = await seedRemote({ files: { 'README.md': '# Wiki\n' } });
process.env.CEDILLE_INCIDENTS_WIKI = wiki.path;
process.env.CEDILLE_GIT_WORKDIR = scratchDir('workdir');
let env: TemporalTestEnv;
let incident: CompiledDefinition;

before(async () => {
  env = await temporalTestEnv();
  incident = (await DefinitionRegistry.load({ catalog: await loadCatalog() })).get('incident')!;
  await env.startWorker(); // the built-in definitions
});

after(async () => {
  await env?.close();
  await discord?.close();
  await smtp?.close();
  rmSync(notifyDir, { recursive: true, force: true });
});

const iso = (msAgo = 0) => new Date(Date.now() - msAgo).toISOString();
const alert = (fingerprint: string, namespace: string, labels: Record<string, string> = {}) => ({
  fingerprint,
  status: 'firing',
  labels: { alertname: 'KubePodCrashLooping', namespace, severity: 'critical', ...labels },
  annotations: { summary: 'web-0 restarts' },
  startsAt: iso(60_000),
});

/** Starts an incident as the API's intake does: a run ticket naming the webhook's identity. */
function start(input: Record<string, unknown>): Promise<WorkflowHandle> {
  return env.start(incident, input, { initiator: 'alertmanager', workflowId: `incident-${randomUUID().slice(0, 20)}` });
}

/** eventually(), and on timeout the run's graph (statuses and errors) in the message. */
async function until<T>(h: WorkflowHandle, check: () => T | undefined | Promise<T | undefined>, what: string, timeoutMs = 30_000): Promise<T> {
  try {
    return await eventually(check, timeoutMs, what);
  } catch (err) {
    const g = await env.graph(h).catch(() => undefined);
    const nodes = g?.nodes.filter((n) => n.status !== 'pending').map((n) => `${n.id}=${n.status}${n.error ? ` (${n.error})` : ''}`);
    const desc = await h.describe().catch(() => undefined);
    throw new Error(`${(err as Error).message}; run ${desc?.status.name}: ${nodes?.join(', ')}`, { cause: err });
  }
}

const send = (h: WorkflowHandle, name: string, payload: unknown) => h.executeUpdate(sendEventUpdate, { args: [{ name, payload }] });
const posts = (path: string, kind?: RegExp) => discord.posts.filter((p) => p.path === `/webhooks/${path}` && (!kind || kind.test(JSON.stringify(p.body))));
const mailsTo = (address: string, subject?: RegExp) => smtp.messages.filter((m) => m.to.includes(address) && (!subject || subject.test(m.subject)));

const report = (submittedBy: string) => ({
  submittedBy,
  summary: 'Radio Piranha answered 503 for a few minutes after a memory regression.',
  rootCauses: 'The memory limit stayed at 256Mi while the new image needs 400Mi.',
  trigger: 'The automated sync of radio-prod.',
  resolution: 'Raised the limit.',
  detection: 'KubePodCrashLooping paged the SRE channel.',
  actionItems: [{ title: 'Alert on memory near the limit', owner: 'ada', due: '2026-12-04' }],
  lessons: 'Limits follow the image.',
});

describe('incident workflow', { concurrency: true }, () => {
  it('availability: clubs told at open, updates, resolution; timeline from the cluster and Temporal; reminders; SRE approval; published to the wiki', async () => {
    await kubeClients().core.createNamespacedEvent({
      namespace: ns,
      body: {
        metadata: { name: 'web-0.oom', namespace: ns },
        involvedObject: { kind: 'Pod', name: 'web-0', namespace: ns },
        reason: 'OOMKilled',
        message: 'Container web was OOM killed',
        type: 'Warning',
        lastTimestamp: new Date(Date.now() - 30_000),
        firstTimestamp: new Date(Date.now() - 30_000),
      },
    });
    const h = await start({
      source: 'alertmanager',
      groupKey: `{}:{alertname="KubePodCrashLooping",namespace="${ns}"}`,
      title: 'Radio Piranha is down',
      severity: 'critical',
      commonLabels: { alertname: 'KubePodCrashLooping', namespace: ns },
      commonAnnotations: {},
      alerts: [alert('f1', ns)],
      review: { dueAfterSeconds: 16, remindBeforeSeconds: [12, 8] },
    });
    // Open: the admins' channel and the club's channel; not ÉTS IT.
    await until(h, () => (posts('sre', /incident-opened|Radio Piranha is down/).length && posts('club-radio').length ? true : undefined), 'open notices', 30_000);
    assert.match(JSON.stringify(posts('club-radio')[0]!.body), /Radio Piranha/);
    assert.equal(mailsTo('edith@ets.test', /Radio Piranha/).length, 0, 'ÉTS IT is not told of an availability incident');
    assert.equal(posts('club-quiet').length, 0);

    // While open: an update for a changed alert; an admin's note; a platform run in the window.
    await send(h, 'alerts', { status: 'firing', receivedAt: iso(), alerts: [alert('f2', ns, { alertname: 'ProbeFailed' })] });
    await until(h, () => (posts('club-radio', /Update: Radio Piranha/).length ? true : undefined), 'the update notice', 20_000);
    await send(h, 'note', { author: 'ada', text: 'Restarted web-0; Jeanne Roy (jeanne.roy@etsmtl.ca) confirmed the outage', at: iso() });
    const hello = await env.client.workflow.start('helloWorld', { taskQueue: env.taskQueue, workflowId: `hello-${randomUUID()}`, args: [{ name: 'Incident' }] });
    await hello.result();
    await eventually(async () => {
      for await (const r of env.client.workflow.list({ query: `WorkflowId = "${hello.workflowId}"` })) return r.status.name === 'COMPLETED' ? true : undefined;
      return undefined;
    }, 20_000, 'the platform run in visibility');

    const resolvedAt = iso();
    await send(h, 'resolved', { resolvedAt, alerts: [{ ...alert('f1', ns), status: 'resolved', endsAt: resolvedAt }] });
    await until(h, () => (posts('club-radio', /Resolved: Radio Piranha/).length ? true : undefined), 'the resolution notice', 30_000);

    // The owner (ada) is assigned the draft, then reminded before the deadline (no report yet).
    await until(h, () => (mailsTo('ada@cedille.test', /Post-incident report to write/).length ? true : undefined), 'the assignment', 30_000);
    await until(h, () => (mailsTo('ada@cedille.test', /^Reminder: /).length >= 2 ? true : undefined), 'two reminders', 30_000);

    await send(h, 'report', report('ada'));
    // ada wrote it: she may not approve it; alice (sre) does, through the Update the API uses.
    const approve = (id: string) => h.executeUpdate(answerApprovalUpdate, { args: [signedAnswer(h.workflowId, 'sreReview', { id, groups: ['sre'] }, 'approve', 'ok')] });
    await eventually(async () => (await approve('alice').then(() => true, () => undefined)), 30_000, 'the SRE approval');
    const out = (await h.result()) as { kind: string; clubs: string[]; report: { commit: string; path: string; changed: boolean } };
    assert.deepEqual([out.kind, out.clubs], ['availability', ['radio']]);

    // Published: in the wiki, with the timeline from the cluster, Temporal and the events; no personal data.
    const published = await wiki.readFile(out.report.path);
    assert.ok(published, `the report is committed at ${out.report.path}`);
    assert.equal(await wiki.head(), out.report.commit);
    for (const expected of ['Status | approved', 'Warning OOMKilled Pod/web-0', `hello-world run ${hello.workflowId} completed`, 'ProbeFailed firing', 'KubePodCrashLooping resolved', 'ada: Restarted web-0', 'Alert on memory near the limit']) {
      assert.ok(published.includes(expected), `the report has "${expected}"\n${published}`);
    }
    assert.ok(!/jeanne/i.test(published), 'no personal data of non-responders');
    // The clubs get their version; the overdue notice never went out (the report came in time).
    await until(h, () => (posts('club-radio', /Post-incident report: Radio Piranha is down/).length ? true : undefined), 'the clubs report', 10_000);
    assert.equal(mailsTo('ada@cedille.test', /^Overdue/).length, 0);
    assert.equal(mailsTo('edith@ets.test', /Radio Piranha/).length, 0, 'ÉTS IT never heard of it');
  });

  it('security: ÉTS IT told and not the clubs; the report author cannot approve it (four-eyes): nothing published', async () => {
    const h = await start({
      source: 'grafana',
      groupKey: `grafana-${randomUUID()}`,
      title: 'Leaked token in club quiet',
      severity: 'warning',
      commonLabels: { alertname: 'LeakedSecret', namespace: quietNs, category: 'security' },
      commonAnnotations: {},
      alerts: [alert('s1', quietNs, { alertname: 'LeakedSecret', category: 'security' })],
      owner: 'grace',
      review: { dueAfterSeconds: 60, remindBeforeSeconds: [] },
    });
    await until(h, () => (mailsTo('edith@ets.test', /security incident: Leaked token/).length ? true : undefined), 'ÉTS IT told', 30_000);
    await send(h, 'resolved', { resolvedAt: iso(), alerts: [] });
    await until(h, () => (mailsTo('edith@ets.test', /Resolved: Leaked token/).length ? true : undefined), 'ÉTS IT told of the resolution', 30_000);
    assert.equal(posts('club-quiet').length, 0, 'the club is not told of a security incident');
    assert.equal(mailsTo('quiet@club.test').length, 0);

    await send(h, 'report', report('alice'));
    await eventually(async () => (await h.executeUpdate(answerApprovalUpdate, { args: [signedAnswer(h.workflowId, 'sreReview', { id: 'alice', groups: ['sre'] })] }).then(() => true, () => undefined)), 30_000, 'the approval');
    const f = await runFailure(h);
    assert.ok(f.types.includes('SelfApproval'), f.text);
    assert.ok(!Object.keys(await wiki.files()).some((p) => p.includes('leaked-token')), 'nothing published');
  });
});
