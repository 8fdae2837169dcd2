// incidents.collectTimeline against the real servers: Kubernetes events created in a test namespace
// on the local API server (both API groups), an ArgoCD Application's sync history (the CRD is
// installed when absent; no ArgoCD controller runs here, the test writes the history the controller
// would), platform runs started on the real Temporal server (listed through visibility), alerts and
// notes from the run's events — merged, sorted, and stripped of personal data but the responders'.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { Client, Connection } from '@temporalio/client';
import { kubeClients, testNamespace, eventually, adminKube } from '../support/cluster.ts';
import { callActivity } from '../activities/_support.ts';
import { SEARCH_ATTRIBUTE_KEYS } from '../../workflows/search-attributes.ts';
import collectTimeline from '../../activities/incidents/collectTimeline.ts';
import { dataConverterFromEnv } from '../../codec/index.ts';
import { useClubsConfig } from './_clubs.ts';

type Output = { entries: { at: string; source: string; text: string; ref?: string }[]; counts: Record<string, number>; redactions: number; gaps: string[]; window: { from: string; to: string } };

const ARGO_CRD = {
  apiVersion: 'apiextensions.k8s.io/v1',
  kind: 'CustomResourceDefinition',
  metadata: { name: 'applications.argoproj.io' },
  spec: {
    group: 'argoproj.io',
    names: { kind: 'Application', listKind: 'ApplicationList', plural: 'applications', singular: 'application', shortNames: ['app'] },
    scope: 'Namespaced',
    versions: [{ name: 'v1alpha1', served: true, storage: true, schema: { openAPIV3Schema: { type: 'object', 'x-kubernetes-preserve-unknown-fields': true } } }],
  },
};

/** The ArgoCD Application CRD: the onboarding's installer when present, else a minimal one (the test cluster is private to the run). */
async function ensureArgoCrd(): Promise<void> {
  const k = kubeClients();
  try {
    await k.objects.read({ apiVersion: ARGO_CRD.apiVersion, kind: ARGO_CRD.kind, metadata: { name: ARGO_CRD.metadata.name } });
  } catch {
    // Raw JSON (client-node's typed serializer would drop x-kubernetes-preserve-unknown-fields).
    await adminKube().apply(ARGO_CRD as never);
  }
  await eventually('the Application kind to be served', async () => {
    try {
      await adminKube().list('argoproj.io/v1alpha1', 'Application', { namespace: 'default', limit: 1 });
      return true;
    } catch {
      return undefined;
    }
  });
}

// Registered at file level: its cleanup runs when the file ends.
useClubsConfig({
  clubs: [{ id: 'radio', name: 'Radio Piranha', namespaces: [], apps: [], members: [{ name: 'Jeanne Roy', email: 'jeanne.roy@etsmtl.ca' }] }],
  people: [{ name: 'Marc Gagnon', email: 'marc.gagnon@etsmtl.ca' }],
});

// Namespaces made at file level too (testNamespace's cleanup is registered with `after`).
const ns = await testNamespace('incident-tl');
const other = await testNamespace('incident-other');

const minutesAgo = (m: number) => new Date(Date.now() - m * 60_000).toISOString();

describe('incidents.collectTimeline', () => {
  let client: Client;
  const platformRuns: string[] = [];
  const openedAt = minutesAgo(20);

  before(async () => {
    const k = kubeClients();
    const event = (namespace: string, name: string, at: string, reason: string, message: string) =>
      k.core.createNamespacedEvent({
        namespace,
        body: {
          metadata: { name, namespace },
          involvedObject: { kind: 'Pod', name: 'web-0', namespace, apiVersion: 'v1' },
          reason,
          message,
          type: 'Warning',
          firstTimestamp: new Date(at),
          lastTimestamp: new Date(at),
          count: 3,
          source: { component: 'kubelet' },
        },
      });
    await event(ns, 'web-0.oom', minutesAgo(18), 'OOMKilled', 'Container web was OOM killed; owner jeanne.roy@etsmtl.ca');
    await event(ns, 'web-0.ancient', minutesAgo(300), 'BackOff', 'long before the incident');
    await event(other, 'elsewhere', minutesAgo(10), 'BackOff', 'not an affected namespace');
    // The new API group's shape (eventTime, regarding, note) for the same store.
    await k.objects.create({
      apiVersion: 'events.k8s.io/v1',
      kind: 'Event',
      metadata: { name: 'web-0.probe', namespace: ns },
      eventTime: new Date(Date.parse(minutesAgo(12))).toISOString().replace(/\.\d+Z$/, '.000000Z'),
      reportingController: 'kubelet',
      reportingInstance: 'node-1',
      action: 'Probe',
      reason: 'Unhealthy',
      regarding: { kind: 'Pod', name: 'web-0', namespace: ns, apiVersion: 'v1' },
      note: 'Readiness probe failed',
      type: 'Warning',
    } as never);

    await ensureArgoCrd();
    const app = {
      apiVersion: 'argoproj.io/v1alpha1',
      kind: 'Application',
      metadata: { name: 'radio-prod', namespace: ns },
      spec: { project: 'default', destination: { namespace: ns, server: 'https://kubernetes.default.svc' }, source: { repoURL: 'https://example.invalid/apps.git', path: 'apps/radio/prod' } },
    };
    await adminKube().apply(app as never);
    const status = {
      history: [
        { id: 1, revision: '0123456789abcdef0123', deployedAt: minutesAgo(600), deployStartedAt: minutesAgo(601) },
        { id: 2, revision: 'fedcba9876543210fedc', deployedAt: minutesAgo(16), deployStartedAt: minutesAgo(17), initiatedBy: { automated: true } },
      ],
    };
    // Written as ArgoCD's controller would: through the status subresource when the CRD has one.
    await adminKube()
      .mergePatch({ apiVersion: app.apiVersion, kind: app.kind, name: app.metadata.name, namespace: ns }, { status }, { subresource: 'status' })
      .catch(() => adminKube().mergePatch({ apiVersion: app.apiVersion, kind: app.kind, name: app.metadata.name, namespace: ns }, { status }));
    const stored = await adminKube().list('argoproj.io/v1alpha1', 'Application', { namespace: ns });
    assert.equal((stored.items[0]?.status as { history?: unknown[] } | undefined)?.history?.length, 2, JSON.stringify(stored.items));

    // Platform runs in the window, on the real Temporal server (no worker: they stay running, then are terminated).
    client = new Client({ connection: await Connection.connect({ address: process.env.TEMPORAL_ADDRESS! }), namespace: process.env.TEMPORAL_NAMESPACE ?? 'default', dataConverter: dataConverterFromEnv() });
    for (const [type, definition] of [['nightlyBackup', 'nightly-backup'], ['appOnboarding', 'app-onboarding']] as const) {
      const id = `${definition}-${randomUUID()}`;
      await client.workflow.start(type, { taskQueue: `incident-timeline-${randomUUID()}`, workflowId: id, args: [{}], typedSearchAttributes: [{ key: SEARCH_ATTRIBUTE_KEYS.definition, value: definition }] });
      platformRuns.push(id);
    }
    await client.workflow.getHandle(platformRuns[1]!).terminate('test: closed inside the window');
  });

  after(async () => {
    for (const id of platformRuns) await client.workflow.getHandle(id).terminate('test cleanup').catch(() => undefined);
    await client?.connection.close();
  });

  it('merges alerts, Kubernetes events, ArgoCD syncs, platform runs and notes in time order, without personal data', async () => {
    const input = {
      incidentId: `incident-${randomUUID()}`,
      title: 'Radio Piranha down',
      openedAt,
      resolvedAt: new Date().toISOString(),
      alerts: [{ fingerprint: 'f1', status: 'firing', labels: { alertname: 'KubePodCrashLooping', namespace: ns }, annotations: { summary: 'web-0 restarts' }, startsAt: minutesAgo(19) }],
      alertEvents: [{ status: 'firing', receivedAt: minutesAgo(9), alerts: [{ fingerprint: 'f2', status: 'firing', labels: { alertname: 'ProbeFailed', namespace: ns }, annotations: {}, startsAt: minutesAgo(9) }] }],
      resolvedEvents: [{ resolvedAt: minutesAgo(1), alerts: [{ fingerprint: 'f1', status: 'resolved', labels: { alertname: 'KubePodCrashLooping', namespace: ns }, annotations: {}, startsAt: minutesAgo(19), endsAt: minutesAgo(2) }] }],
      notes: [{ author: 'Marc Gagnon', text: 'Called Jeanne Roy (jeanne.roy@etsmtl.ca), raised the memory limit; reach me at marc.gagnon@etsmtl.ca', at: minutesAgo(5) }],
      namespaces: [ns],
      apps: ['radio-prod'],
      responders: ['Marc Gagnon'],
    };
    // Visibility is eventually consistent: wait until both platform runs are listed.
    const out = await eventually('the platform runs in visibility', async () => {
      const o = (await callActivity(collectTimeline, input)) as Output;
      return platformRuns.every((id) => o.entries.some((e) => e.source === 'workflow' && e.text.includes(id))) ? o : undefined;
    });
    const texts = out.entries.map((e) => `${e.source}: ${e.text}`);
    const sorted = [...out.entries].sort((a, b) => a.at.localeCompare(b.at));
    assert.deepEqual(out.entries.map((e) => e.at), sorted.map((e) => e.at), 'sorted by time');

    // Alerts: firing and resolved, once each.
    assert.ok(texts.includes(`alert: KubePodCrashLooping firing (${ns}): web-0 restarts`), texts.join('\n'));
    assert.ok(texts.includes(`alert: KubePodCrashLooping resolved (${ns})`));
    assert.ok(texts.includes(`alert: ProbeFailed firing (${ns})`));
    // Kubernetes events from the API server: both groups, in the window and namespace only, deduplicated.
    assert.ok(texts.includes('kubernetes: Warning OOMKilled Pod/web-0: Container web was OOM killed; owner [e-mail] (×3)'), texts.join('\n'));
    assert.ok(texts.includes('kubernetes: Warning Unhealthy Pod/web-0: Readiness probe failed'));
    assert.ok(!texts.some((t) => t.includes('long before') || t.includes('not an affected namespace')));
    assert.equal(out.counts.kubernetes, 2);
    // ArgoCD: the sync in the window only.
    const argo = texts.filter((t) => t.startsWith('argocd'));
    assert.equal(argo.length, 1, `argocd entries: ${JSON.stringify(argo)}; gaps: ${JSON.stringify(out.gaps)}`);
    assert.match(argo[0]!, /^argocd: ArgoCD synced radio-prod to fedcba987654 \(automated\), started \d{4}-/);
    // Platform runs from Temporal visibility, by definition; the closed one twice (started, terminated).
    assert.ok(texts.some((t) => t === `workflow: nightly-backup run ${platformRuns[0]} started`));
    assert.ok(texts.some((t) => t === `workflow: app-onboarding run ${platformRuns[1]} terminated`));
    // Notes: the responder keeps name and address; others are replaced.
    assert.ok(texts.includes('note: Marc Gagnon: Called [person] ([e-mail]), raised the memory limit; reach me at marc.gagnon@etsmtl.ca'), texts.join('\n'));
    assert.ok(!JSON.stringify(out).includes('jeanne'), 'no trace of a non-responder');
    assert.ok(out.redactions >= 3);
    assert.deepEqual(out.gaps, []);
    assert.equal(out.entries[0]!.source, 'incident');
  });

  it('reports a missing source as a gap and keeps the rest', async () => {
    const out = (await callActivity(collectTimeline, {
      incidentId: 'incident-x',
      openedAt,
      namespaces: ['no-such-namespace-here'],
      apps: [],
      notes: [{ author: 'sre', text: 'looking', at: minutesAgo(3) }, { bogus: true }],
      maxRuns: 0,
    })) as Output;
    assert.deepEqual(out.entries.map((e) => e.source), ['incident', 'note']);
    assert.deepEqual(out.gaps, []); // an absent namespace has no events: not an error
  });
});
