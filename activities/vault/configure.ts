// Step 6: Vault's configuration, with the root token read (KMS) inside the activity. Each part is
// read before it is written, so a retry or a second run finds it and adds nothing:
//   Kubernetes auth: the `auth/kubernetes` mount, Vault's service account bound to
//     system:auth-delegator, and its config: in-cluster (kubernetes.host given, Vault reviews
//     tokens with its pod's own) or, for a Vault outside the cluster, the worker's API server, its
//     CA and a reviewer token of Vault's service account from the TokenRequest API;
//   policies and Kubernetes-auth roles (given, plus the probe's);
//   KV v2 at `kvMount`; a file audit device; the probe's test secret (written once).
import { randomBytes } from 'node:crypto';
import { z } from 'zod';
import { defineActivity } from '../define.ts';
import { kName } from '../kubernetes/_objects.ts';
import { VaultRef, vaultClient } from './_client.ts';
import { rootToken } from './_keys.ts';
import { bindAuthDelegator, ensureServiceAccount, requestToken, workerCluster } from './_kube.ts';
import { Probe, probePolicy } from './_probe.ts';

const name = z.string().regex(/^[a-z0-9][a-z0-9_-]*$/);

export const ConfigureInput = z.strictObject({
  vault: VaultRef,
  serviceAccount: kName.default('vault').describe("Vault's service account (the chart's), bound to system:auth-delegator"),
  kubernetes: z.strictObject({
    host: z.url().optional().describe('In-cluster: https://kubernetes.default.svc (Vault reviews with its pod token). Absent: the worker\'s API server'),
    caCert: z.string().optional().describe('PEM of the API server CA (default: the worker kubeconfig\'s when host is absent)'),
  }).default({}),
  kvMount: name.default('secret'),
  policies: z.array(z.strictObject({ name, rules: z.string().min(1) })).default([]),
  roles: z.array(z.strictObject({
    name,
    serviceAccounts: z.array(z.string().min(1)).min(1),
    namespaces: z.array(z.string().min(1)).min(1),
    policies: z.array(z.string()).min(1),
    ttl: z.string().default('1h'),
  })).default([]),
  audit: z.strictObject({ path: name.default('file'), filePath: z.string().min(1).default('/vault/audit/audit.log') }).default({ path: 'file', filePath: '/vault/audit/audit.log' }),
  probe: Probe.default({ serviceAccount: 'vault-bootstrap-probe', role: 'cedille-bootstrap-probe', secretPath: 'cedille/bootstrap-probe' }),
});

export default defineActivity({
  name: 'vault.configure',
  description: 'Configures Vault with the stored root token: Kubernetes auth (auth-delegator binding, API server + CA), policies, roles, KV v2, a file audit device and the probe secret. Idempotent.',
  input: ConfigureInput,
  output: z.object({ added: z.array(z.string()), policies: z.array(z.string()), roles: z.array(z.string()), kubernetesHost: z.string() }),
  async handler(input, ctx) {
    const { vault: ref, probe } = input;
    const client = await vaultClient(ref, ctx.signal);
    const token = await rootToken(ref, ctx.signal);
    const added: string[] = [];
    const call = <T = Record<string, unknown>>(method: string, path: string, body?: unknown, ok?: number[]) => {
      ctx.heartbeat({ path });
      return client.call<T>(method, path, { token, body, ...(ok ? { ok } : {}) });
    };

    // Kubernetes auth.
    const auths = (await call<{ data: Record<string, unknown> }>('GET', 'sys/auth')).body.data;
    if (!auths['kubernetes/']) {
      await call('POST', 'sys/auth/kubernetes', { type: 'kubernetes', description: 'Kubernetes service accounts (cedille-workflows bootstrap)' });
      added.push('auth/kubernetes');
    }
    await ensureServiceAccount(ref.namespace, input.serviceAccount, ctx.signal);
    await bindAuthDelegator(ref.namespace, input.serviceAccount, ctx.signal);
    let config: Record<string, unknown>;
    if (input.kubernetes.host) {
      config = { kubernetes_host: input.kubernetes.host, ...(input.kubernetes.caCert ? { kubernetes_ca_cert: input.kubernetes.caCert } : {}), disable_local_ca_jwt: false };
    } else {
      const cluster = workerCluster();
      const reviewer = await requestToken(ref.namespace, input.serviceAccount, 365 * 86_400, ctx.signal);
      config = { kubernetes_host: cluster.host, kubernetes_ca_cert: input.kubernetes.caCert ?? cluster.caCert, token_reviewer_jwt: reviewer, disable_local_ca_jwt: true };
    }
    const current = (await call<{ data?: { kubernetes_host?: string } }>('GET', 'auth/kubernetes/config', undefined, [200, 404])).body.data;
    // The reviewer token is rewritten each time (it expires); the rest is the same values.
    await call('POST', 'auth/kubernetes/config', config);
    if (current?.kubernetes_host !== config.kubernetes_host) added.push('auth/kubernetes/config');

    // Policies and roles.
    const probeNamespace = probe.namespace ?? ref.namespace;
    const policies = [...input.policies, { name: probe.role, rules: probePolicy(input.kvMount, probe) }];
    for (const p of policies) await call('PUT', `sys/policies/acl/${p.name}`, { policy: p.rules });
    const roles = [...input.roles, { name: probe.role, serviceAccounts: [probe.serviceAccount], namespaces: [probeNamespace], policies: [probe.role], ttl: '5m' }];
    for (const r of roles) {
      await call('POST', `auth/kubernetes/role/${r.name}`, {
        bound_service_account_names: r.serviceAccounts, bound_service_account_namespaces: r.namespaces, token_policies: r.policies, token_ttl: r.ttl,
      });
    }

    // KV v2.
    const mounts = (await call<{ data: Record<string, { type: string; options?: { version?: string } }> }>('GET', 'sys/mounts')).body.data;
    if (!mounts[`${input.kvMount}/`]) {
      await call('POST', `sys/mounts/${input.kvMount}`, { type: 'kv', options: { version: '2' }, description: 'KV v2 (cedille-workflows bootstrap)' });
      added.push(`${input.kvMount}/ (kv v2)`);
    }

    // Audit device (OpenBao: allowed through the API only with unsafe_allow_api_audit_creation, or declared in the config).
    const audits = (await call<{ data?: Record<string, unknown> } & Record<string, unknown>>('GET', 'sys/audit')).body;
    const devices = audits.data ?? audits;
    if (!devices[`${input.audit.path}/`]) {
      await call('PUT', `sys/audit/${input.audit.path}`, { type: 'file', options: { file_path: input.audit.filePath } });
      added.push(`audit ${input.audit.path}`);
    }

    // The probe's test secret, written once (KV v2 may need a moment after the mount).
    const secretPath = `${input.kvMount}/data/${probe.secretPath}`;
    let existing = 0;
    for (let i = 0; ; i++) {
      try {
        existing = (await call('GET', secretPath, undefined, [200, 404])).status;
        break;
      } catch (err) {
        if (i >= 20) throw err;
        await new Promise((r) => setTimeout(r, 250));
      }
    }
    if (existing === 404) {
      await call('POST', secretPath, { data: { value: randomBytes(16).toString('hex'), purpose: 'cedille-workflows bootstrap probe' } });
      added.push(`secret ${probe.secretPath}`);
    }
    return { added, policies: policies.map((p) => p.name), roles: roles.map((r) => r.name), kubernetesHost: String(config.kubernetes_host) };
  },
});
