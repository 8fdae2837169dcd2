// argocd.waitApplications against the local cluster's API server, with the simulated ArgoCD
// (infra/cluster/simulated-argocd.ts) playing the root app and the application controller on a real
// bare repository: Applications appear once a merge lands, report Synced + Healthy at the merge
// commit (history entry); a failed sync ends the wait with a report naming the app, its conditions
// and the operation's message; an app that never appears times out; a retried attempt keeps the
// first attempt's deadline. With ArgoCD syncing straight to a later commit of main (commits that land
// together, synced at the newest as a real ArgoCD does), the merge counts as deployed there: git says
// that commit contains it; a commit main does not contain never counts.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { kubeClients, testKubeconfigPath } from '../support/cluster.ts';
import { eventually } from '../support/temporal.ts';
import { installCrds, ARGOCD_APPLICATION_CRD } from '../../infra/cluster/crds.ts';
import { startSimulatedArgocd, type SimulatedArgocd } from '../../infra/cluster/simulated-argocd.ts';
import { activityFailure, callActivity, testContext } from '../activities/_support.ts';
import waitApplications from '../../activities/argocd/waitApplications.ts';
import { git, gitSettings, seedRemote, type TestRemote } from '../support/git.ts';

const REPO_URL = 'https://github.com/ClubCedille/Plateforme-Cedille';
const ARGO_APPS = 'apps/argo-apps/kustomization.yaml';
const namespace = `argocd-${randomBytes(3).toString('hex')}`;

/** An app folder as the platform lays it out (seeds/004 §5.2), with its two Applications. */
function appFiles(app: string): Record<string, string> {
  const application = (env: string) => `apiVersion: argoproj.io/v1alpha1
kind: Application
metadata:
  name: ${app}-${env}
  namespace: argocd
  annotations:
    argocd.argoproj.io/sync-wave: "2"
spec:
  project: default
  destination:
    server: https://kubernetes.default.svc
    namespace: ${app}-${env}
  source:
    repoURL: ${REPO_URL}
    path: apps/${app}/${env}
    targetRevision: HEAD
  syncPolicy:
    syncOptions:
    - CreateNamespace=true
`;
  const files: Record<string, string> = {
    [`apps/${app}/argo.yaml`]: `${application('prod')}---\n${application('staging')}`,
    [`apps/${app}/kustomization.yaml`]: 'apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\nresources:\n - argo.yaml\n',
    [`apps/${app}/base/kustomization.yaml`]: 'resources:\n  - deployment.yaml\n',
  };
  for (const env of ['staging', 'prod']) files[`apps/${app}/${env}/kustomization.yaml`] = 'resources:\n  - ../base\n';
  return files;
}

let gitops: TestRemote;
let argocd: SimulatedArgocd;
const k = kubeClients();

before(async () => {
  await installCrds(testKubeconfigPath(), [ARGOCD_APPLICATION_CRD]);
  gitops = await seedRemote({ files: { [ARGO_APPS]: 'kind: Kustomization\nresources:\n  - ../grafana/\n' } });
  argocd = await startSimulatedArgocd({ kubeconfig: testKubeconfigPath(), repositories: { [REPO_URL]: gitops.path }, root: { repository: gitops.path }, namespace, pollMs: 200, syncDelayMs: 200 });
});
after(async () => {
  await argocd?.stop();
  await k.core.deleteNamespace({ name: namespace }).catch(() => undefined);
});


type Waited = { healthy: boolean; outcome: string; report: string; applications: { name: string; sync: string; health: string; revision: string; deployedAt: string | null; historyId: number | null; operation: string | null; conditions: string[] }[] };

describe('argocd.waitApplications with the simulated ArgoCD', () => {
  it('waits for Applications created by the root app after the merge: Synced + Healthy at the merge commit', async () => {
    const waiting = callActivity(waitApplications, { namespace, applications: ['radio-staging', 'radio-prod'], pollSeconds: 0.2, timeoutSeconds: 60 });
    // The merge lands while the wait is already polling (the Applications do not exist yet).
    await new Promise((r) => setTimeout(r, 500));
    const merge = await gitops.commit('main', { ...appFiles('radio'), [ARGO_APPS]: 'kind: Kustomization\nresources:\n  - ../grafana/\n  - ../radio/\n' }, 'Onboard radio');
    const out = (await waiting) as Waited;
    assert.equal(out.healthy, true, out.report);
    const rev = (await callActivity(waitApplications, { namespace, applications: ['radio-staging', 'radio-prod'], revision: merge, pollSeconds: 0.2, timeoutSeconds: 30 })) as Waited;
    for (const app of rev.applications) {
      assert.deepEqual([app.sync, app.health, app.revision], ['Synced', 'Healthy', merge], app.name);
      assert.ok(app.deployedAt && app.historyId !== null, 'a history entry for the merge commit');
      assert.match(app.operation ?? '', /^Succeeded: successfully synced/);
    }
    assert.match(rev.report, /radio-prod: Synced\/Healthy at [0-9a-f]{12}/);
  });

  it('a failed sync ends the wait: ArgoSyncFailed naming the app, its condition and the operation message (or a report)', async () => {
    argocd.fail('jazz-prod', 'Deployment.apps "jazz" is invalid: spec.template.spec.containers[0].image: Required value');
    const merge = await gitops.commit('main', { ...appFiles('jazz'), [ARGO_APPS]: 'kind: Kustomization\nresources:\n  - ../grafana/\n  - ../radio/\n  - ../jazz/\n' }, 'Onboard jazz');
    const staging = (await callActivity(waitApplications, { namespace, applications: ['jazz-staging'], revision: merge, pollSeconds: 0.2, timeoutSeconds: 30 })) as Waited;
    assert.equal(staging.healthy, true, 'staging is fine');
    const failure = await activityFailure(waitApplications, { namespace, applications: ['jazz-prod'], revision: merge, pollSeconds: 0.2, timeoutSeconds: 30 });
    assert.deepEqual([failure.type, failure.nonRetryable], ['ArgoSyncFailed', true]);
    assert.match(failure.message, /jazz-prod: OutOfSync\/Degraded at [0-9a-f]{12}; operation Failed: one or more objects failed to apply, reason: Deployment\.apps "jazz" is invalid/);
    assert.match(failure.message, /SyncError: Failed sync attempt to [0-9a-f]{40}/);
    const report = (await callActivity(waitApplications, { namespace, applications: ['jazz-staging', 'jazz-prod'], revision: merge, pollSeconds: 0.2, onFailure: 'report' })) as Waited;
    assert.deepEqual([report.healthy, report.outcome], [false, 'failed']);
    assert.match(report.report, /^jazz-staging: Synced\/Healthy/m);
    assert.match(report.report, /^jazz-prod: OutOfSync\/Degraded/m);

    const attempts = argocd.synced.get('jazz-prod')?.length ?? 0;
    argocd.heal('jazz-prod');
    await eventually(() => ((argocd.synced.get('jazz-prod')?.length ?? 0) > attempts ? true : undefined), 10_000, 'a new sync of jazz-prod');
    const healed = (await callActivity(waitApplications, { namespace, applications: ['jazz-prod'], revision: merge, pollSeconds: 0.2, timeoutSeconds: 30 })) as Waited;
    assert.equal(healed.healthy, true, 'a later sync that works is seen');
  });

  it('an Application that never appears: ArgoSyncTimeout saying so; a retried attempt keeps the first deadline', async () => {
    const t0 = Date.now();
    const failure = await activityFailure(waitApplications, { namespace, applications: ['ghost-prod'], pollSeconds: 0.2, timeoutSeconds: 2 });
    assert.equal(failure.type, 'ArgoSyncTimeout');
    assert.match(failure.message, /ghost-prod: not created yet/);
    assert.ok(Date.now() - t0 >= 2000 && Date.now() - t0 < 10_000);
    const ctx = { ...testContext(), attempt: 2, heartbeatDetails: { startedAt: Date.now() - 3_600_000, deadline: Date.now() - 1 } };
    const resumed = (await callActivity(waitApplications, { namespace, applications: ['ghost-prod'], timeoutSeconds: 3600, onFailure: 'report' }, ctx)) as Waited;
    assert.deepEqual([resumed.healthy, resumed.outcome], [false, 'timeout']);
    assert.ok(await gitops.head());
  });
});

describe('argocd.waitApplications when ArgoCD syncs straight to a later commit of main', () => {
  const ns = `argocd-${randomBytes(3).toString('hex')}`;
  let repo: TestRemote;
  let later: SimulatedArgocd;
  before(async () => {
    // The activity's clone of the GitOps repository (the ancestry check) goes to a scratch dir of this file.
    process.env.CEDILLE_GIT_WORKDIR = gitSettings('argocd').workdir;
    repo = await seedRemote({ files: { [ARGO_APPS]: 'kind: Kustomization\nresources:\n  - ../grafana/\n' } });
    later = await startSimulatedArgocd({ kubeconfig: testKubeconfigPath(), repositories: { [REPO_URL]: repo.path }, root: { repository: repo.path }, namespace: ns, pollMs: 200, syncDelayMs: 200, syncEachCommit: false });
  });
  after(async () => {
    await later?.stop();
    await k.core.deleteNamespace({ name: ns }).catch(() => undefined);
  });

  it('the merge commit counts as deployed at a later commit that contains it (git ancestry); a commit main does not contain does not', async () => {
    // The merge and a later change land on main in one push (between two polls of ArgoCD): built on a side
    // branch, then main moved to the later one at once.
    const merge = await repo.commit('landing', { ...appFiles('swing'), [ARGO_APPS]: 'kind: Kustomization\nresources:\n  - ../grafana/\n  - ../swing/\n' }, 'Onboard swing');
    const newer = await repo.commit('landing', { 'README.md': 'a later change\n' }, 'A later change', { base: 'landing' });
    const elsewhere = await repo.commit('elsewhere', { 'apps/swing/NOTES.md': 'never merged\n' }, 'Never merged', { base: merge });
    await git(['update-ref', 'refs/heads/main', newer], repo.path);
    await eventually(() => (['swing-staging', 'swing-prod'].every((a) => later.synced.get(a)?.includes(newer)) ? true : undefined), 30_000, 'ArgoCD synced swing at the later commit');
    assert.ok(['swing-staging', 'swing-prod'].every((a) => !later.synced.get(a)?.includes(merge)), 'ArgoCD never synced the merge commit itself');

    const out = (await callActivity(waitApplications, { namespace: ns, applications: ['swing-staging', 'swing-prod'], revision: merge, repository: repo.path, pollSeconds: 0.2, timeoutSeconds: 30 })) as Waited;
    assert.equal(out.healthy, true, out.report);
    for (const app of out.applications) {
      assert.deepEqual([app.sync, app.health, app.revision], ['Synced', 'Healthy', newer], app.name);
      assert.ok(app.deployedAt && app.historyId !== null, 'the history entry of the deployed commit');
    }

    const notOnMain = (await callActivity(waitApplications, { namespace: ns, applications: ['swing-prod'], revision: elsewhere, repository: repo.path, pollSeconds: 0.2, timeoutSeconds: 2, onFailure: 'report' })) as Waited;
    assert.deepEqual([notOnMain.healthy, notOnMain.outcome], [false, 'timeout'], 'a commit the deployed one does not contain is not deployed');
  });
});
