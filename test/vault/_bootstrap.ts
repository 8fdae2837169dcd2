// Helpers of the Vault bootstrap tests: the built-in definition compiled for `interpret`, a fresh
// setting per test (namespace, KMS key on the local KMS peer, GitOps remote, a port for the
// simulated deployment), the run's input, and a scan of a run's raw history for secret values.
import { randomBytes, randomUUID } from 'node:crypto';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import assert from 'node:assert/strict';
import type { Client, WorkflowHandle } from '@temporalio/client';
import * as openpgp from 'openpgp';
import { loadCatalog } from '../../activities/catalog.ts';
import { freePort } from '../../infra/tools/temporal-dev-server.ts';
import { compileFile, formatCompileError } from '../../workflows/compiler/index.ts';
import type { CompiledDefinition } from '../../workflows/dsl/compiled.ts';
import { ticketed } from '../support/temporal.ts';
import { kubeClients, adminKube } from '../support/cluster.ts';
import { scratchDir, seedRemote, type TestRemote } from '../support/git.ts';
import { scanExecution } from '../support/history-scan.ts';
import { startGcpIdentity, serviceAccountEmail, type GcpIdentity } from '../support/gcp-identity.ts';
import { ALL_PERMISSIONS, startKmsPeer, type KmsPeer } from './_kms-peer.ts';
import { simulatedVaultDeployment, type SimulatedVaultDeployment } from './_simulated-vault-deployment.ts';

let identity: Promise<GcpIdentity> | undefined;
const sealIdentity = () => (identity ??= startGcpIdentity());

/** The KMS peer of these tests: it knows the access tokens the identity's IAM credentials peer mints. */
export async function startSealKms(): Promise<KmsPeer> {
  const id = await sealIdentity();
  return startKmsPeer((token) => id.ownerOf(token));
}

/** The seal's service account for a name (the KMS peer's grants are by account). */
export const sealAccount = serviceAccountEmail;

/**
 * Points the worker's KMS configuration (this process, and workers spawned with its environment) at the
 * peer, as the service account `sealAccount(name)` (GOOGLE_APPLICATION_CREDENTIALS: a Workload Identity
 * Federation file through the local STS and IAM credentials peers).
 */
export async function useKmsPeer(peer: KmsPeer, name: string): Promise<void> {
  process.env.CEDILLE_GCP_KMS_ENDPOINT = peer.endpoint;
  await (await sealIdentity()).use(sealAccount(name));
}
export const VALUES_PATH = 'apps/vault/values.yaml';

let compiled: Promise<CompiledDefinition> | undefined;
export function vaultBootstrapDefinition(): Promise<CompiledDefinition> {
  compiled ??= (async () => {
    // Compiled alone (not through the registry): a broken sibling built-in must not stop these tests.
    const result = await compileFile(fileURLToPath(new URL('../../workflows/definitions/vault-bootstrap.yaml', import.meta.url)), { catalog: await loadCatalog() });
    if (!result.ok) throw new Error(`vault-bootstrap does not compile:\n${result.errors.map(formatCompileError).join('\n')}`);
    return result.definition;
  })();
  return compiled;
}

export async function startBootstrap(client: Client, taskQueue: string, input: unknown): Promise<WorkflowHandle> {
  const workflowId = `vault-bootstrap-${randomUUID()}`;
  return client.workflow.start('interpret', {
    taskQueue,
    workflowId,
    args: [ticketed(workflowId, { definition: await vaultBootstrapDefinition(), input })],
    workflowTaskTimeout: '3s',
  });
}

export interface Setting {
  namespace: string;
  remote: TestRemote;
  port: number;
  auditFile: string;
  kms: { project: string; location: string; keyRing: string; cryptoKey: string };
  input(extra?: Record<string, unknown>): Record<string, unknown>;
  /** The simulated deployment for this setting (started on demand). */
  deploy(): SimulatedVaultDeployment;
}

const cleanups: (() => Promise<void>)[] = [];

/** Deletes what newSetting made (namespaces, the auth-delegator bindings, simulated deployments); call it in the suite's `after`. */
export async function cleanupSettings(): Promise<void> {
  for (const c of cleanups.splice(0).reverse()) await c().catch(() => undefined);
  const id = identity;
  identity = undefined;
  await (await id?.catch(() => undefined))?.close();
}

// node:test runs an `after` registered inside a `before` hook at once: the git scratch root is made
// now, at the file's top level, so its removal is registered for the end of the file.
scratchDir('vault');

/**
 * A fresh namespace, GitOps remote, port and KMS key name; the seal identity (service account
 * sealAccount(seal)) holds every permission unless the peer already knows it. Undone by cleanupSettings().
 */
export async function newSetting(peer: KmsPeer, name: string, seal = `seal-${name}`): Promise<Setting> {
  const namespace = `${name}-${randomBytes(4).toString('hex')}`;
  const clients = kubeClients();
  await clients.core.createNamespace({ body: { metadata: { name: namespace, labels: { 'cedille.test/namespace': 'true' } } } });
  const deployments: SimulatedVaultDeployment[] = [];
  cleanups.push(async () => {
    for (const d of deployments) await d.stop();
    await adminKube().delete({ apiVersion: 'rbac.authorization.k8s.io/v1', kind: 'ClusterRoleBinding', name: `${namespace}-vault-auth-delegator` }).catch(() => undefined);
    await clients.core.deleteNamespace({ name: namespace }).catch(() => undefined);
  });
  const remote = await seedRemote({ files: { 'README.md': '# platform\n' } });
  const port = await freePort();
  const auditFile = join(scratchDir('audit'), 'audit.log');
  await useKmsPeer(peer, seal);
  if (!peer.grants.has(sealAccount(seal))) peer.grants.set(sealAccount(seal), [...ALL_PERMISSIONS]);
  const kms = { project: 'cedille-test', location: 'northamerica-northeast1', keyRing: 'vault', cryptoKey: `unseal-${namespace}` };
  return {
    namespace,
    remote,
    port,
    auditFile,
    kms,
    input: (extra = {}) => ({
      namespace,
      address: `https://127.0.0.1:${port}`,
      seal: 'shamir',
      kms,
      shares: 3,
      threshold: 2,
      gitops: { repository: remote.path, path: VALUES_PATH, chart: 'openbao' },
      replicas: 3,
      auditFilePath: auditFile,
      deployTimeoutSeconds: 120,
      ...extra,
    }),
    deploy() {
      const d = simulatedVaultDeployment({ namespace, tlsSecret: 'vault-tls', remote, valuesPath: VALUES_PATH, port });
      deployments.push(d);
      return d;
    },
  };
}

/** Admins' PGP key pairs (curve25519: quick to make). */
export async function adminKeys(n: number): Promise<{ publicKey: string; privateKey: string }[]> {
  return Promise.all(Array.from({ length: n }, (_, i) =>
    openpgp.generateKey({ type: 'curve25519', userIDs: [{ name: `Admin ${i}`, email: `admin${i}@cedille.test` }], format: 'armored' }),
  ));
}

/**
 * The labels of the secrets found in a run's raw history (test/support/history-scan.ts: every
 * event's bytes and JSON, each secret raw, escaped and base64-encoded); empty when none is there.
 */
export async function secretsInHistory(client: Client, handle: WorkflowHandle, secrets: Record<string, string>): Promise<string[]> {
  const report = await scanExecution(client, handle.workflowId, undefined, Object.entries(secrets).map(([label, value]) => ({ label, value })));
  assert.ok(report.events > 10, `scanned ${report.events} events`);
  return report.findings.map((f) => `${f.label} (${f.form}, event ${f.eventId} ${f.eventType})`);
}

/** The run's result, or after `ms` an error saying where it is stuck (pending activities and their last failures). */
export async function resultWithin(handle: WorkflowHandle, ms: number, extra: () => string = () => ''): Promise<unknown> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => {
      void handle.describe().then((d) => {
        const pending = (d.raw.pendingActivities ?? []).map((a) => `${a.activityType?.name} attempt ${a.attempt}: ${a.lastFailure?.message ?? ''}`);
        reject(new Error(`run not done after ${ms} ms; pending: ${pending.join(' | ') || 'none'}\n${extra()}`));
      }, reject);
    }, ms);
  });
  try {
    return await Promise.race([handle.result(), timeout]);
  } catch (err) {
    const causes: string[] = [];
    for (let cur: unknown = err, i = 0; cur && i < 10; cur = (cur as Error).cause, i++) causes.push((cur as Error).message);
    throw new Error(`${causes.join(' | ')}\n${extra()}`, { cause: err });
  } finally {
    clearTimeout(timer);
  }
}

export interface BootstrapOutput {
  init: { alreadyInitialized: boolean };
  rootRevoked: boolean;
  sealed: boolean;
  login: { policies: string[] };
}

/** Asserts a bootstrapped Vault: one init (one root token ever encrypted), unsealed, root token revoked, no secret in history. */
export async function assertBootstrapped(client: Client, peer: KmsPeer, setting: Setting, out: BootstrapOutput, handle: WorkflowHandle): Promise<void> {
  const roots = peer.encrypted.filter((e) => e.aad === `${setting.namespace}/vault-init/root-token`);
  assert.equal(roots.length, 1, 'one init: one root token');
  assert.equal(out.sealed, false);
  assert.equal(out.rootRevoked, true);
  assert.ok(out.login.policies.includes('cedille-bootstrap-probe'));
  const shares = peer.encrypted.filter((e) => e.aad.startsWith(`${setting.namespace}/vault-init/share-`));
  assert.equal(shares.length, 3, 'three shares stored once');
  const secrets = { 'root token': roots[0]!.plaintext, ...Object.fromEntries(shares.map((s, i) => [`share ${i}`, s.plaintext])) };
  assert.deepEqual(await secretsInHistory(client, handle, secrets), []);
}
