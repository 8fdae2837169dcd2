// The harness of the backup workflow tests: the real local cluster (snapshot CRDs applied, a
// VolumeSnapshotClass of io.openebs.csi-mayastor), the simulated CSI provisioner and snapshot
// controller + agent kubelet (infra/cluster/), the shared fake-gcs-server (a fresh bucket) and dev
// OpenBao (transit key; Kubernetes auth reviewing the local API server's service-account tokens, so
// the agent Jobs log in as they would on the platform).
import { readFileSync } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { randomUUID } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { parseAllDocuments } from 'yaml';
import type { WorkflowHandle } from '@temporalio/client';
import { KubeClient, type KObject } from '../../activities/kubernetes/_client.ts';
import { LABEL_BACKUP_RUN, SNAPSHOT_API_VERSION } from '../../activities/kubernetes/builders/backup.ts';
import { startSimulatedSnapshotController, KUBELET_ID_ANNOTATION, KWOK_CUSTOM_STATUS, type SimulatedSnapshotController } from '../../infra/cluster/simulated-snapshot-controller.ts';
import { kubeClients, testKubeconfigPath, testNamespace, eventually, type KubeClients } from '../support/cluster.ts';
import { startSimulatedCsiProvisioner, type SimulatedProvisioner } from '../support/simulated-csi-provisioner.ts';
import { temporalTestEnv, type TemporalTestEnv } from '../support/temporal.ts';
import { freshBucket, gcsUrl, transitKey, vaultEnv } from './_agent-support.ts';

const CRDS = fileURLToPath(new URL('../../infra/cluster/crds/snapshot.storage.k8s.io.yaml', import.meta.url));
export const SNAPSHOT_CLASS = 'mayastor-snapshots';
export const AGENT_ROLE = 'cedille-backup';
/** The worker's CEDILLE_BACKUP_AGENT_IMAGE in the tests (the simulated kubelet runs backup-agent/ whatever the image). */
export const AGENT_IMAGE = 'ghcr.io/cedille/backup-agent:test';

async function vault(method: string, path: string, body?: unknown): Promise<Response> {
  const { addr, token } = vaultEnv();
  return fetch(`${addr}/v1/${path}`, { method, headers: { 'X-Vault-Token': token, 'content-type': 'application/json' }, ...(body ? { body: JSON.stringify(body) } : {}) });
}

async function vaultOk(method: string, path: string, body?: unknown, tolerate?: RegExp): Promise<void> {
  const res = await vault(method, path, body);
  if (res.ok) return;
  const text = await res.text();
  if (tolerate?.test(text)) return;
  throw new Error(`Vault ${method} ${path}: HTTP ${res.status} ${text}`);
}

/** The snapshot CRDs and the Mayastor VolumeSnapshotClass (idempotent: other test files do the same). */
export async function installSnapshotApi(client: KubeClient): Promise<void> {
  for (const doc of parseAllDocuments(readFileSync(CRDS, 'utf8'))) {
    const crd = doc.toJS() as KObject;
    await client.apply(crd, { force: true, fieldManager: 'cedille-tests' });
  }
  await eventually('snapshot CRDs established', async () => {
    await client.list(SNAPSHOT_API_VERSION, 'VolumeSnapshotClass');
    await client.list(SNAPSHOT_API_VERSION, 'VolumeSnapshot');
    await client.list(SNAPSHOT_API_VERSION, 'VolumeSnapshotContent');
    return true;
  });
  await client.apply({ apiVersion: SNAPSHOT_API_VERSION, kind: 'VolumeSnapshotClass', metadata: { name: SNAPSHOT_CLASS }, driver: 'io.openebs.csi-mayastor', deletionPolicy: 'Delete' } as KObject, { force: true, fieldManager: 'cedille-tests' });
}

/**
 * OpenBao's Kubernetes auth against the local API server: a token-reviewer service account (system:auth-delegator),
 * and the role the agent Jobs log in with (service account cedille-backup, any namespace) allowed to make and
 * unwrap data keys.
 */
export async function configureVaultKubernetesAuth(k: KubeClients, client: KubeClient): Promise<void> {
  const reviewer = { apiVersion: 'v1', kind: 'ServiceAccount', metadata: { name: 'vault-token-reviewer', namespace: 'kube-system' } } as KObject;
  await client.apply(reviewer, { force: true, fieldManager: 'cedille-tests' });
  await client.apply(
    {
      apiVersion: 'rbac.authorization.k8s.io/v1',
      kind: 'ClusterRoleBinding',
      metadata: { name: 'vault-token-reviewer' },
      roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: 'system:auth-delegator' },
      subjects: [{ kind: 'ServiceAccount', name: 'vault-token-reviewer', namespace: 'kube-system' }],
    } as KObject,
    { force: true, fieldManager: 'cedille-tests' },
  );
  const token = await k.core.createNamespacedServiceAccountToken({ namespace: 'kube-system', name: 'vault-token-reviewer', body: { spec: { audiences: [], expirationSeconds: 24 * 3600 } } });
  const cluster = k.kc.getCurrentCluster()!;
  const ca = cluster.caData ? Buffer.from(cluster.caData, 'base64').toString('utf8') : readFileSync(cluster.caFile!, 'utf8');
  await vaultOk('POST', 'sys/auth/kubernetes', { type: 'kubernetes' }, /already in use/);
  await vaultOk('POST', 'auth/kubernetes/config', { kubernetes_host: cluster.server, kubernetes_ca_cert: ca, token_reviewer_jwt: token.status?.token, disable_iss_validation: true });
  const policy = ['datakey/plaintext', 'decrypt', 'encrypt'].map((p) => `path "transit/${p}/*" { capabilities = ["update"] }`).join('\n') + '\npath "transit/keys/*" { capabilities = ["read"] }\n';
  await vaultOk('PUT', `sys/policies/acl/${AGENT_ROLE}`, { policy });
  await vaultOk('POST', `auth/kubernetes/role/${AGENT_ROLE}`, { bound_service_account_names: [AGENT_ROLE], bound_service_account_namespaces: ['*'], token_policies: [AGENT_ROLE], token_ttl: '1h' });
}

export interface BackupHarness {
  env: TemporalTestEnv;
  k: KubeClients;
  client: KubeClient;
  csi: SimulatedProvisioner;
  sim: SimulatedSnapshotController;
  bucket: string;
  transitKey: string;
  /** The run input's agent settings; the image and the destinations are the worker's (AGENT_IMAGE, the env below). */
  agent: { podAnnotations: Record<string, string>; timeoutSeconds: number };
  vault: { transitKey: string; role: string };
  namespace(prefix: string): Promise<string>;
  /** A mayastor PVC whose volume (a directory of the simulation) holds these files; resolves once Bound. */
  volume(namespace: string, pvc: string, files: Record<string, Buffer | string>, labels?: Record<string, string>, storageClass?: string): Promise<void>;
  start(type: string, input: unknown, workflowId?: string): Promise<WorkflowHandle>;
  nightlyInput(namespaces: string[], extra?: Record<string, unknown>): Record<string, unknown>;
  /** Snapshots, temporary PVCs and Jobs a run left in these namespaces, and snapshot contents of them. */
  leftovers(namespaces: string[]): Promise<string[]>;
  close(): Promise<void>;
}

/** Everything the backup workflows need; `worker: false` when the test runs its own worker processes. */
export async function backupHarness(opts: { worker?: boolean } = {}): Promise<BackupHarness> {
  const k = kubeClients();
  const client = new KubeClient(k.kc);
  await installSnapshotApi(client);
  await configureVaultKubernetesAuth(k, client);
  const key = await transitKey();
  const bucket = await freshBucket();
  // The worker's own configuration (activities run in this process, and spawned workers inherit it):
  // GCS endpoint and Vault (the preflight's token; the agent Jobs' destinations too), the agent image.
  process.env.CEDILLE_GCS_ENDPOINT = gcsUrl();
  process.env.VAULT_ADDR = vaultEnv().addr;
  process.env.VAULT_TOKEN = vaultEnv().token;
  process.env.CEDILLE_BACKUP_AGENT_IMAGE = AGENT_IMAGE;
  const csi = await startSimulatedCsiProvisioner();
  // Other test files run their own simulation on the same cluster: each plays only its own namespaces and pods.
  const kubeletId = randomUUID().slice(0, 8);
  const namespaces = new Set<string>();
  const sim = await startSimulatedSnapshotController({ kubeconfig: testKubeconfigPath(), kubeletId, namespaces });
  const env = await temporalTestEnv();
  if (opts.worker !== false) await env.startWorker({ tuning: { maxConcurrentActivityTaskExecutions: 40 } });
  const h: BackupHarness = {
    env,
    k,
    client,
    csi,
    sim,
    bucket,
    transitKey: key,
    agent: { podAnnotations: { ...KWOK_CUSTOM_STATUS, [KUBELET_ID_ANNOTATION]: kubeletId }, timeoutSeconds: 600 },
    vault: { transitKey: key, role: AGENT_ROLE },
    async namespace(prefix) {
      const name = await testNamespace(prefix, k);
      namespaces.add(name);
      return name;
    },
    async volume(namespace, pvc, files, labels = {}, storageClass = 'mayastor') {
      const dir = sim.volumeDir(namespace, pvc);
      for (const [name, content] of Object.entries(files)) {
        await mkdir(dirname(join(dir, name)), { recursive: true });
        await writeFile(join(dir, name), content);
      }
      await mkdir(dir, { recursive: true });
      await k.core.createNamespacedPersistentVolumeClaim({ namespace, body: { metadata: { name: pvc, labels }, spec: { accessModes: ['ReadWriteOnce'], storageClassName: storageClass, resources: { requests: { storage: '1Gi' } } } } });
      if (storageClass === 'mayastor') {
        await eventually(`PVC ${namespace}/${pvc} bound`, async () => ((await k.core.readNamespacedPersistentVolumeClaim({ namespace, name: pvc })).status?.phase === 'Bound' ? true : undefined), 30_000);
      }
    },
    start(type, input, workflowId) {
      return env.client.workflow.start(type, { taskQueue: env.taskQueue, workflowId: workflowId ?? `${type}-${randomUUID()}`, args: [input] });
    },
    nightlyInput(namespaces, extra = {}) {
      return { bucket, prefix: 'mayastor', namespaces, snapshotClass: SNAPSHOT_CLASS, agent: h.agent, vault: h.vault, snapshotReadyTimeoutSeconds: 60, ...extra };
    },
    async leftovers(namespaces) {
      const found: string[] = [];
      for (const namespace of namespaces) {
        for (const [apiVersion, kind] of [[SNAPSHOT_API_VERSION, 'VolumeSnapshot'], ['v1', 'PersistentVolumeClaim'], ['batch/v1', 'Job']] as const) {
          const list = await client.list(apiVersion, kind, { namespace, labelSelector: LABEL_BACKUP_RUN });
          found.push(...list.items.map((o) => `${kind} ${namespace}/${o.metadata.name}${o.metadata.deletionTimestamp ? ' (terminating)' : ''}`));
        }
      }
      const contents = await client.list(SNAPSHOT_API_VERSION, 'VolumeSnapshotContent');
      found.push(...contents.items.filter((c) => namespaces.includes(String((c.spec as { volumeSnapshotRef?: { namespace?: string } }).volumeSnapshotRef?.namespace))).map((c) => `VolumeSnapshotContent ${c.metadata.name}`));
      return found;
    },
    async close() {
      await env.close();
      await sim.stop();
      csi.stop();
    },
  };
  return h;
}

/** Polls until nothing is left behind (deletions are asynchronous: pods, then claims, then contents). */
export async function noLeftovers(h: BackupHarness, namespaces: string[], timeoutMs = 60_000): Promise<void> {
  let last: string[] = [];
  try {
    await eventually('no leftover snapshot, temporary PVC or Job', async () => {
      last = await h.leftovers(namespaces);
      return last.length === 0 ? true : undefined;
    }, timeoutMs);
  } catch {
    throw new Error(`left behind: ${last.join(', ')}`);
  }
}
