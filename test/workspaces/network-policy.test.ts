// The network isolation of a student workspace, as the real API server stores it (kwok enforces no
// policy, so this asserts the object the CNI would enforce): ingress only from the namespace and the
// ingress controller; egress to the namespace's pods, to kube-dns on port 53, and to the IPv4
// Internet except the cluster ranges of the worker configuration (CEDILLE_WORKSPACE_EGRESS_EXCEPT,
// never run input) and the link-local range with the cloud metadata address.
import { after, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import provision from '../../activities/workspaces/provision.ts';
import { workspaceNamespace } from '../../activities/kubernetes/builders/index.ts';
import { courseKey } from '../../activities/workspaces/_params.ts';
import { kubeClients } from '../support/cluster.ts';
import { activityFailure, callActivity } from '../activities/_support.ts';
import { adminClient } from '../kubernetes/_support.ts';

const k = kubeClients();
const admin = adminClient();
const created: string[] = [];
after(async () => {
  for (const name of created) await k.core.deleteNamespace({ name }).catch(() => undefined);
});

const student = { id: 'NP12345', username: 'np12345', name: 'Noé Pelletier', email: 'noe.pelletier@ens.etsmtl.ca' };
const profile = { image: 'codercom/code-server:4.96.4' };

async function provisionWith(except: string | undefined): Promise<Record<string, unknown>> {
  const course = { code: `NET${randomBytes(3).toString('hex')}`, term: 'A2026' };
  const before = process.env.CEDILLE_WORKSPACE_EGRESS_EXCEPT;
  if (except === undefined) delete process.env.CEDILLE_WORKSPACE_EGRESS_EXCEPT;
  else process.env.CEDILLE_WORKSPACE_EGRESS_EXCEPT = except;
  try {
    const ns = workspaceNamespace(courseKey(course), student.username);
    created.push(ns);
    await callActivity(provision, { course, student, profile, domain: 'ws.cedille.test' });
    // The activities' client: the wire JSON, as stored (the generated client renames fields).
    const policies = (await admin.list('networking.k8s.io/v1', 'NetworkPolicy', { namespace: ns })).items as unknown as { spec: Record<string, unknown> }[];
    assert.equal(policies.length, 1);
    return policies[0]!.spec;
  } finally {
    if (before === undefined) delete process.env.CEDILLE_WORKSPACE_EGRESS_EXCEPT;
    else process.env.CEDILLE_WORKSPACE_EGRESS_EXCEPT = before;
  }
}

const dnsRule = {
  to: [{ namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': 'kube-system' } }, podSelector: { matchLabels: { 'k8s-app': 'kube-dns' } } }],
  ports: [
    { protocol: 'UDP', port: 53 },
    { protocol: 'TCP', port: 53 },
  ],
};

describe('workspace NetworkPolicy on the real API server', () => {
  it('defaults: Internet except RFC 1918, link-local and metadata; DNS to kube-dns; the namespace itself', { timeout: 60_000 }, async () => {
    const spec = await provisionWith(undefined);
    assert.deepEqual(spec, {
      podSelector: {},
      policyTypes: ['Ingress', 'Egress'],
      ingress: [{ from: [{ podSelector: {} }, { namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': 'projectcontour' } } }] }],
      egress: [
        { to: [{ podSelector: {} }] },
        dnsRule,
        { to: [{ ipBlock: { cidr: '0.0.0.0/0', except: ['10.0.0.0/8', '172.16.0.0/12', '192.168.0.0/16', '169.254.169.254/32', '169.254.0.0/16'] } }] },
      ],
    });
  });

  it('takes the excluded ranges from the worker configuration (cluster CIDRs, public node addresses)', { timeout: 60_000 }, async () => {
    const spec = await provisionWith('10.244.0.0/16, 10.96.0.0/12,142.137.0.0/16');
    assert.deepEqual((spec.egress as unknown[])[2], {
      to: [{ ipBlock: { cidr: '0.0.0.0/0', except: ['10.244.0.0/16', '10.96.0.0/12', '142.137.0.0/16', '169.254.169.254/32', '169.254.0.0/16'] } }],
    });
  });

  it('a malformed range fails the activity, naming the variable and the entry, and creates nothing', async () => {
    process.env.CEDILLE_WORKSPACE_EGRESS_EXCEPT = '10.0.0.0/8,10.1.2.3/8';
    try {
      const course = { code: `NET${randomBytes(3).toString('hex')}`, term: 'A2026' };
      const failure = await activityFailure(provision, { course, student, profile, domain: 'ws.cedille.test' });
      assert.equal(failure.nonRetryable, true);
      assert.match(failure.message, /CEDILLE_WORKSPACE_EGRESS_EXCEPT: "10\.1\.2\.3\/8" has host bits set \(the network is 10\.0\.0\.0\/8\)/);
      const ns = workspaceNamespace(courseKey(course), student.username);
      await assert.rejects(k.core.readNamespace({ name: ns }), (err: { code?: number }) => err.code === 404);
    } finally {
      delete process.env.CEDILLE_WORKSPACE_EGRESS_EXCEPT;
    }
  });

  it('run input cannot name the excluded ranges (the activity input is strict)', async () => {
    const course = { code: `NET${randomBytes(3).toString('hex')}`, term: 'A2026' };
    await assert.rejects(callActivity(provision, { course, student, profile, domain: 'ws.cedille.test', egressExcept: [] }), /egressExcept/);
  });
});
