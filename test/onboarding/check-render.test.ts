// gitops.checkRender against the local cluster (ArgoCD Application CRD installed): kubectl kustomize
// renders each environment, the API server accepts the rendered objects in a dry run (nothing stored),
// and broken trees are refused naming the file, the object and the field.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ApplicationFailure } from '@temporalio/common';
import { ARGOCD_APPLICATION_CRD, installCrds } from '../../infra/cluster/crds.ts';
import { GitOpsConfig } from '../../activities/gitops/_config.ts';
import { renderApp } from '../../activities/gitops/_render.ts';
import { AppRequest } from '../../activities/gitops/_request.ts';
import checkRender from '../../activities/gitops/checkRender.ts';
import { callActivity } from '../activities/_support.ts';
import { kubeClients, testKubeconfigPath, testNamespace } from '../support/cluster.ts';
import { SAMPLE_REQUEST } from './_app-request.ts';

interface Report {
  ok: boolean;
  environments: { environment: string; path: string; ok: boolean; namespace: string; objects: { kind: string; name: string; file?: string }[]; errors: { file?: string; object?: string; field?: string; message: string }[] }[];
}

const rendered = renderApp(AppRequest.parse(SAMPLE_REQUEST), GitOpsConfig.parse({}));
const files = rendered.files;
// At the top level: testNamespace registers its cleanup with `after`, which inside a hook would run when the hook ends.
await installCrds(testKubeconfigPath(), [ARGOCD_APPLICATION_CRD]);
const namespace = await testNamespace('check-render');

const check = async (f: Record<string, string>, extra: Record<string, unknown> = {}) => (await callActivity(checkRender, { files: f, namespace, failOnError: false, ...extra })) as Report;

function edit(path: string, from: string | RegExp, to: string): Record<string, string> {
  const text = files[path]!;
  const next = text.replace(from, to);
  assert.notEqual(next, text, `${path} contains ${String(from)}`);
  return { ...files, [path]: next };
}

describe('gitops.checkRender', () => {
  it('renders each environment with kubectl kustomize and the API server accepts every object (dry run, nothing stored)', async () => {
    const report = await check(files);
    assert.equal(report.ok, true, JSON.stringify(report, null, 2));
    assert.deepEqual(report.environments.map((e) => [e.environment, e.path, e.ok]), [
      ['staging', 'apps/robotique-site/staging', true],
      ['prod', 'apps/robotique-site/prod', true],
      ['argocd', 'apps/robotique-site', true],
    ]);
    const prod = report.environments[1]!;
    assert.deepEqual(prod.objects.map((o) => `${o.kind} ${o.name} ${o.file}`).sort(), [
      'Deployment robotique-site apps/robotique-site/base/deployment.yaml',
      'Ingress robotique-site apps/robotique-site/prod/ingress.yaml',
      'Service robotique-site apps/robotique-site/base/network.yaml',
    ]);
    assert.deepEqual(report.environments[2]!.objects.map((o) => o.name), ['robotique-site-prod', 'robotique-site-staging']);
    const { apps } = kubeClients();
    await assert.rejects(apps.readNamespacedDeployment({ name: 'robotique-site', namespace }), /404|not found/i, 'a dry run stores nothing');
  });

  it('an invalid port is rejected by the API server, naming file, object and field', async () => {
    const report = await check(edit('apps/robotique-site/base/deployment.yaml', 'containerPort: 8080', 'containerPort: 70000'));
    assert.equal(report.ok, false);
    for (const env of report.environments.slice(0, 2)) {
      assert.equal(env.ok, false);
      assert.deepEqual(
        env.errors.map((e) => [e.file, e.object, e.field]),
        [['apps/robotique-site/base/deployment.yaml', 'Deployment robotique-site', 'spec.template.spec.containers[0].ports[0].containerPort']],
      );
      assert.match(env.errors[0]!.message, /65536|between 1 and 65535/);
    }
    assert.equal(report.environments[2]!.ok, true, 'argo.yaml is fine');

    const err = await callActivity(checkRender, { files: edit('apps/robotique-site/base/deployment.yaml', 'containerPort: 8080', 'containerPort: 70000'), namespace }).then(
      () => assert.fail('expected a failure'),
      (e: unknown) => e,
    );
    assert.ok(err instanceof ApplicationFailure);
    assert.equal(err.type, 'RenderCheckFailed');
    assert.equal(err.nonRetryable, true);
    assert.match(err.message, /staging: apps\/robotique-site\/base\/deployment\.yaml Deployment robotique-site spec\.template\.spec\.containers\[0\]\.ports\[0\]\.containerPort/);
  });

  it('an unknown field (strict validation), a broken Application and a kustomize error are reported where they are', async () => {
    const unknown = await check(edit('apps/robotique-site/prod/ingress.yaml', 'ingressClassName: contour', 'ingressClass: contour'));
    const prod = unknown.environments.find((e) => e.environment === 'prod')!;
    assert.equal(prod.ok, false);
    assert.equal(prod.errors[0]!.file, 'apps/robotique-site/prod/ingress.yaml');
    assert.equal(prod.errors[0]!.object, 'Ingress robotique-site');
    assert.equal(prod.errors[0]!.field, 'spec.ingressClass');
    assert.equal(unknown.environments.find((e) => e.environment === 'staging')!.ok, true);

    const app = await check(edit('apps/robotique-site/argo.yaml', / {2}project: default\n/g, ''));
    const argocd = app.environments.find((e) => e.environment === 'argocd')!;
    assert.equal(argocd.ok, false);
    assert.deepEqual(argocd.errors.map((e) => [e.file, e.object, e.field]), [
      ['apps/robotique-site/argo.yaml', 'Application robotique-site-prod', 'spec.project'],
      ['apps/robotique-site/argo.yaml', 'Application robotique-site-staging', 'spec.project'],
    ]);

    const missing = await check(edit('apps/robotique-site/staging/kustomization.yaml', '  - ingress.yaml\n', '  - ingres.yaml\n'));
    const staging = missing.environments.find((e) => e.environment === 'staging')!;
    assert.equal(staging.ok, false);
    assert.match(staging.errors[0]!.message, /kubectl kustomize apps\/robotique-site\/staging: .*ingres\.yaml/);
    assert.ok(!staging.errors[0]!.message.includes('/tmp/'), 'paths relative to the repository');
  });
});
