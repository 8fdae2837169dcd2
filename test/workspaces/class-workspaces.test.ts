// The class-workspaces definition end to end: real Temporal, the real API server of the local
// cluster (kwok plays the nodes, a simulated CSI provisioner binds volumes), a local server speaking
// Moodle's web service format. One student in detail, a class of 200, a roster change, teardown, and
// a bad roster that provisions nothing.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import type { WorkflowHandle } from '@temporalio/client';
import { temporalTestEnv, type TemporalTestEnv } from '../support/temporal.ts';
import { kubeClients } from '../support/cluster.ts';
import { startSimulatedCsiProvisioner, type SimulatedProvisioner } from '../support/simulated-csi-provisioner.ts';
import { moodlePeer, setMoodleEnv, type MoodlePeer, type PeerUser } from '../moodle/_moodle-peer.ts';
import { runFailure } from '../activities/_support.ts';
import { LABEL_COURSE, LABEL_STUDENT, LABEL_TERM, workspaceNamespace } from '../../activities/kubernetes/builders/index.ts';
import { classSelector, courseKey, type Course } from '../../activities/workspaces/_params.ts';

const TOKEN = 'moodle-workspaces-token-0123456789';
const DOMAIN = 'ws.cedille.test';
const profile = { image: 'codercom/code-server:4.96.4', port: 8080, storage: '2Gi' };

type Output = {
  ready: number;
  failed: number;
  accepted: number;
  rejected: { row: number; field: string; message: string }[];
  skipped: { id: string; username?: string; reason: string; roles: string[] }[];
  counts: Record<string, number>;
  students: { studentId: string; namespace: string; url: string; status: string }[];
  suspended: string[];
};

function peerUsers(n: number): PeerUser[] {
  return Array.from({ length: n }, (_, i) => ({ id: 5000 + i, username: `aq${String(i).padStart(5, '0')}`, firstname: 'Étudiante', lastname: `N° ${i}`, email: `aq${i}@ens.etsmtl.ca`, groups: [1], active: true }));
}

describe('class workspaces on a real API server', { concurrency: false }, () => {
  let env: TemporalTestEnv;
  let moodle: MoodlePeer;
  let csi: SimulatedProvisioner;
  let restoreMoodleEnv: (() => void) | undefined;
  const k = kubeClients();

  before(async () => {
    env = await temporalTestEnv();
    // 200 students of group 1, and what a real course also holds: its teacher, two suspended enrolments.
    moodle = await moodlePeer({
      token: TOKEN,
      courseId: 680,
      users: [
        ...peerUsers(200),
        { id: 6000, username: 'prof.gagnon', firstname: 'Luc', lastname: 'Gagnon', email: 'luc.gagnon@etsmtl.ca', groups: [1], active: true, roles: ['editingteacher'] },
        { id: 6001, username: 'aq90001', firstname: 'Partie', lastname: 'Un', email: 'aq90001@ens.etsmtl.ca', groups: [1], active: false },
        { id: 6002, username: 'aq90002', firstname: 'Partie', lastname: 'Deux', email: 'aq90002@ens.etsmtl.ca', groups: [1], active: false },
      ],
    });
    restoreMoodleEnv = setMoodleEnv({ CEDILLE_MOODLE_URL: moodle.url('/'), MOODLE_TOKEN: TOKEN });
    csi = await startSimulatedCsiProvisioner();
    await env.startWorker({ tuning: { maxConcurrentActivityTaskExecutions: 100 } });
  });
  after(async () => {
    csi?.stop();
    await moodle?.close();
    await env?.close();
    restoreMoodleEnv?.();
  });

  const start = (input: unknown, type = 'classWorkspaces'): Promise<WorkflowHandle> =>
    env.client.workflow.start(type, { taskQueue: env.taskQueue, workflowId: `${type}-${randomUUID()}`, args: [input] });

  it('provisions one student from a CSV: every object, labelled, isolated, ready', { timeout: 120_000 }, async () => {
    const course: Course = { code: 'LOG680', term: 'A2026', section: '01' };
    const csv = 'Matricule,Prénom,Nom,Courriel\nAB12345,Zoé,Côté-Tremblay,zoe.cote@ens.etsmtl.ca\nak-../../etc,Mallory,X,mallory@ens.etsmtl.ca\n';
    const handle = await start({ course, roster: { csv }, profile, domain: DOMAIN, dates: { start: new Date(Date.now() + 1500).toISOString(), termEnd: '2026-12-20T06:00:00-05:00' } });
    const out = (await handle.result().catch(async (err) => { throw new Error((await runFailure(handle)).text, { cause: err }); })) as Output;
    assert.equal(out.ready, 1);
    const ns = workspaceNamespace(courseKey(course), 'ab12345');
    assert.deepEqual(out.students, [{ studentId: 'AB12345', namespace: ns, url: `https://${ns}.${DOMAIN}/`, status: 'ready' }]);
    // A hostile id is a rejected row naming row and field, not a hashed namespace nobody is told about.
    assert.deepEqual(out.rejected.map((p) => [p.row, p.field]), [[3, 'id']]);
    assert.deepEqual(out.counts, { roster: 2, skippedSuspended: 0, skippedNotStudent: 0, rejected: 1, accepted: 1, ready: 1, failed: 0 });
    assert.equal((await k.core.listNamespace({ labelSelector: classSelector(course) })).items.length, 1);

    const namespace = await k.core.readNamespace({ name: ns });
    assert.equal(namespace.metadata?.labels?.[LABEL_COURSE], 'log680-01');
    assert.equal(namespace.metadata?.labels?.[LABEL_TERM], 'a2026');
    assert.equal(namespace.metadata?.labels?.[LABEL_STUDENT], 'ab12345');
    const quota = (await k.core.listNamespacedResourceQuota({ namespace: ns })).items[0];
    assert.equal(quota?.spec?.hard?.['requests.storage'], '2Gi');
    assert.equal(quota?.spec?.hard?.['limits.memory'], '2Gi');
    assert.equal((await k.core.listNamespacedLimitRange({ namespace: ns })).items.length, 1);
    const policies = await k.objects.list('networking.k8s.io/v1', 'NetworkPolicy', ns);
    assert.equal(policies.items.length, 1);
    const pvc = (await k.core.listNamespacedPersistentVolumeClaim({ namespace: ns })).items[0];
    assert.equal(pvc?.spec?.storageClassName, 'mayastor');
    assert.equal(pvc?.status?.phase, 'Bound');
    const deployment = await k.apps.readNamespacedDeployment({ namespace: ns, name: 'workspace' });
    assert.equal(deployment.spec?.template.spec?.containers[0]?.image, profile.image);
    assert.equal(deployment.status?.availableReplicas, 1);
    const ingress = (await k.objects.list('networking.k8s.io/v1', 'Ingress', ns)).items[0] as { metadata?: { annotations?: Record<string, string> }; spec?: { tls?: { hosts?: string[] }[] } } | undefined;
    assert.deepEqual(ingress?.spec?.tls?.[0]?.hosts, [`${ns}.${DOMAIN}`]);
    assert.ok(ingress?.metadata?.annotations?.['cert-manager.io/cluster-issuer']);
    const bindings = (await k.rbac.listNamespacedRoleBinding({ namespace: ns })).items;
    assert.deepEqual(bindings.map((b) => b.subjects?.[0]?.name), ['zoe.cote@ens.etsmtl.ca']);
  });

  it('provisions a class of 200 from Moodle, then follows a roster change, then tears down', { timeout: 600_000 }, async () => {
    const course: Course = { code: 'LOG240', term: 'A2026' };
    // No url: the worker's Moodle site (CEDILLE_MOODLE_URL).
    const input = { course, roster: { moodle: { courseId: 680, groupId: 1 } }, profile, domain: DOMAIN };
    const t0 = Date.now();
    const first = (await (await start(input)).result()) as Output;
    const firstMs = Date.now() - t0;
    assert.equal(first.ready, 200, JSON.stringify(first.students.filter((s) => s.status !== 'ready').slice(0, 3)));
    assert.equal(first.failed, 0);
    assert.deepEqual(first.counts, { roster: 203, skippedSuspended: 2, skippedNotStudent: 1, rejected: 0, accepted: 200, ready: 200, failed: 0 });
    assert.deepEqual(first.skipped.map((s) => [s.username, s.reason]), [['aq90001', 'suspended'], ['aq90002', 'suspended'], ['prof.gagnon', 'not-a-student']]);
    const names = new Set((await k.core.listNamespace({ labelSelector: classSelector(course) })).items.map((n) => n.metadata?.name));
    for (const who of ['prof.gagnon', 'aq90001', 'aq90002']) assert.ok(!names.has(workspaceNamespace('log240', who)), `${who} has no workspace`);
    assert.equal((await k.core.listNamespace({ labelSelector: classSelector(course) })).items.length, 200);
    console.log(`# 200 workspaces ready in ${firstMs} ms`);

    // Two students drop the course, one joins: a second run adds the newcomer, suspends the leavers.
    moodle.users[3]!.active = false;
    moodle.users[4]!.groups = [2];
    moodle.users.push({ id: 9999, username: 'newcomer', firstname: 'Nouvelle', lastname: 'Venue', email: 'new@ens.etsmtl.ca', groups: [1], active: true });
    const second = (await (await start(input)).result()) as Output;
    assert.equal(second.ready, 199);
    assert.deepEqual([second.counts.skippedSuspended, second.counts.skippedNotStudent, second.counts.accepted], [3, 1, 199]);
    const leavers = [workspaceNamespace('log240', 'aq00003'), workspaceNamespace('log240', 'aq00004')];
    assert.deepEqual([...second.suspended].sort(), [...leavers].sort());
    for (const ns of leavers) {
      const d = await k.apps.readNamespacedDeployment({ namespace: ns, name: 'workspace' });
      assert.equal(d.spec?.replicas, 0, `${ns} is suspended`);
      assert.equal((await k.core.listNamespacedPersistentVolumeClaim({ namespace: ns })).items.length, 1, `${ns} keeps its files`);
    }
    assert.ok(await k.core.readNamespace({ name: workspaceNamespace('log240', 'newcomer') }));
    // Re-running changed nothing for the others: same namespaces, no duplicates.
    assert.equal((await k.core.listNamespace({ labelSelector: classSelector(course) })).items.length, 201);

    const teardown = (await (await start({ course }, 'classWorkspacesTeardown')).result()) as { deleted: string[] };
    assert.equal(teardown.deleted.length, 201);
    const remaining = (await k.core.listNamespace({ labelSelector: classSelector(course) })).items;
    assert.ok(remaining.every((n) => n.metadata?.deletionTimestamp || n.status?.phase === 'Terminating'), 'every namespace is being deleted');
  });

  it('a roster with no usable student fails before anything is created', { timeout: 60_000 }, async () => {
    const course: Course = { code: 'LOG999', term: 'A2026' };
    const handle = await start({ course, roster: { csv: 'Courriel\npas-une-adresse\n' }, profile, domain: DOMAIN });
    const failure = await runFailure(handle);
    assert.ok(failure.types.includes('EmptyRoster'), failure.text);
    assert.match(failure.text, /row 2 email/);
    assert.equal((await k.core.listNamespace({ labelSelector: classSelector(course) })).items.length, 0);
  });
});
