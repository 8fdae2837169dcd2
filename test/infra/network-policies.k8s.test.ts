// The NetworkPolicies of infra/k8s/ and infra/k8s/temporal-network/ are valid objects for the real
// API server (server-side dry run in a namespace of the test's own; kwok enforces no policy, so
// test/infra/deploy.test.ts evaluates who they admit).
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { it } from 'node:test';
import { parse, parseAllDocuments } from 'yaml';
import type { KObject } from '../../activities/kubernetes/_client.ts';
import { testNamespace } from '../support/cluster.ts';
import { adminClient } from '../kubernetes/_support.ts';

const repo = join(import.meta.dirname, '..', '..');
const admin = adminClient();

function policiesOf(dir: string): KObject[] {
  const { resources } = parse(readFileSync(join(repo, dir, 'kustomization.yaml'), 'utf8')) as { resources: string[] };
  return resources
    .flatMap((file) => parseAllDocuments(readFileSync(join(repo, dir, file), 'utf8')).map((d) => d.toJS() as KObject))
    .filter((d) => d.kind === 'NetworkPolicy');
}

it('the API server accepts every NetworkPolicy of the deployment as written', async () => {
  const ns = await testNamespace('netpol');
  const policies = [...policiesOf('infra/k8s'), ...policiesOf('infra/k8s/temporal-network')];
  assert.deepEqual(policies.map((p) => p.metadata?.name).sort(), ['api-ingress', 'default-deny-ingress', 'temporal-frontend', 'temporal-services', 'temporal-web']);
  for (const policy of policies) {
    // Server-side apply, dry run, strict field validation: admitted, not persisted.
    const { object } = await admin.apply({ ...policy, metadata: { ...policy.metadata, namespace: ns } } as KObject, { dryRun: true });
    assert.deepEqual((object as { spec?: unknown }).spec, (policy as { spec?: unknown }).spec, `${policy.metadata?.name} stored as written`);
  }
});
