// Manifests of the backup workflows: the VolumeSnapshot of a volume, the temporary PVC restored from
// it, and the Job running the backup agent (backup-agent/) on that PVC, or restoring into a new one.
// Names derive from the run and the volume only, so a cleanup after a crash, a retry or a cancel
// finds exactly what the run created (labels carry the same keys for sweeps by selector).
import { LABEL_PREFIX, MANAGED_BY } from './labels.ts';
import { sanitize, shortHash } from './dns-label.ts';
import type { Manifest } from './manifests.ts';

export const SNAPSHOT_API_VERSION = 'snapshot.storage.k8s.io/v1';
/** The run that created an object (shortHash of the workflow id). */
export const LABEL_BACKUP_RUN = `${LABEL_PREFIX}/backup-run`;
/** One volume of that run (shortHash of workflow id, namespace and PVC). */
export const LABEL_BACKUP_ITEM = `${LABEL_PREFIX}/backup-item`;
/** PVCs labelled `cedille.etsmtl.ca/backup=skip` are not backed up. */
export const LABEL_BACKUP_OPT_OUT = `${LABEL_PREFIX}/backup`;
/** Where the agent sees the volume inside the Job's pod. */
export const AGENT_MOUNT_PATH = '/data';
/**
 * Where the agent finds its Google credentials: one projected volume holding the credential file (from a
 * ConfigMap) and a ServiceAccount token for the Workload Identity provider's audience, which the kubelet
 * renews before it expires. The credential file's `credential_source.file` must be AGENT_GCP_TOKEN_PATH.
 */
export const AGENT_GCP_DIR = '/var/run/secrets/cedille.etsmtl.ca/gcp';
export const AGENT_GCP_TOKEN_PATH = `${AGENT_GCP_DIR}/token`;
export const AGENT_GCP_CREDENTIALS_PATH = `${AGENT_GCP_DIR}/credentials.json`;
export const AGENT_GCP_CONFIGMAP = 'cedille-backup-gcp-credentials';

export interface BackupNames {
  runKey: string;
  itemKey: string;
  /** The VolumeSnapshot and the temporary PVC (different kinds, same name). */
  snapshot: string;
  temporaryClaim: string;
  /** Upload Jobs are `<jobPrefix>-<attempt>`. */
  jobPrefix: string;
  labels: Record<string, string>;
}

export function runKey(run: string): string {
  return shortHash([run]);
}

/** Deterministic names of what a run creates for one PVC (at most 51 characters, DNS-1123 labels). */
export function backupNames(run: string, namespace: string, pvc: string): BackupNames {
  const itemKey = shortHash([run, namespace, pvc]);
  const readable = sanitize(pvc).slice(0, 30).replace(/-+$/, '') || 'pvc';
  const name = `backup-${readable}-${itemKey}`;
  return {
    runKey: runKey(run),
    itemKey,
    snapshot: name,
    temporaryClaim: name,
    jobPrefix: name,
    labels: { ...MANAGED_BY, [LABEL_BACKUP_RUN]: runKey(run), [LABEL_BACKUP_ITEM]: itemKey },
  };
}

export function volumeSnapshot(p: { namespace: string; name: string; pvc: string; snapshotClass: string; labels: Record<string, string> }): Manifest {
  return {
    apiVersion: SNAPSHOT_API_VERSION,
    kind: 'VolumeSnapshot',
    metadata: { name: p.name, namespace: p.namespace, labels: p.labels },
    spec: { volumeSnapshotClassName: p.snapshotClass, source: { persistentVolumeClaimName: p.pvc } },
  };
}

/** A PVC whose content is restored from a VolumeSnapshot (by the CSI driver) of the same namespace. */
export function claimFromSnapshot(p: { namespace: string; name: string; snapshot: string; size: string; storageClassName: string; labels: Record<string, string> }): Manifest {
  return {
    apiVersion: 'v1',
    kind: 'PersistentVolumeClaim',
    metadata: { name: p.name, namespace: p.namespace, labels: p.labels },
    spec: {
      accessModes: ['ReadWriteOnce'],
      storageClassName: p.storageClassName,
      resources: { requests: { storage: p.size } },
      dataSource: { apiGroup: 'snapshot.storage.k8s.io', kind: 'VolumeSnapshot', name: p.snapshot },
    },
  };
}

export interface AgentJob {
  namespace: string;
  name: string;
  labels: Record<string, string>;
  image: string;
  /** The image's entrypoint is the agent unless a command is given. */
  command?: string[] | undefined;
  /** `backup ...` or `restore ...` arguments; the volume is mounted at AGENT_MOUNT_PATH. */
  args: string[];
  env?: Record<string, string> | undefined;
  claim: string;
  readOnly: boolean;
  serviceAccount: string;
  /** e.g. to keep a mesh sidecar out of the pod. */
  podAnnotations?: Record<string, string> | undefined;
  activeDeadlineSeconds: number;
  resources?: { requests?: Record<string, string>; limits?: Record<string, string> } | undefined;
  /** Mounts the credential file of this ConfigMap and a projected token for `audience` (AGENT_GCP_DIR). */
  gcpCredentials?: { configMap: string; audience: string } | undefined;
}

/** The ConfigMap holding the agent's credential file (no secret in it: an external_account file names a token file). */
export function agentCredentialsConfigMap(p: { namespace: string; name: string; content: string; labels: Record<string, string> }): Manifest {
  return { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: p.name, namespace: p.namespace, labels: p.labels }, data: { 'credentials.json': p.content } };
}

function gcpVolume(c: { configMap: string; audience: string }) {
  return {
    name: 'gcp-credentials',
    projected: {
      defaultMode: 0o444,
      sources: [
        { serviceAccountToken: { audience: c.audience, expirationSeconds: 3600, path: 'token' } },
        { configMap: { name: c.configMap, items: [{ key: 'credentials.json', path: 'credentials.json' }] } },
      ],
    },
  };
}

/**
 * One attempt of the agent as a Job: no Kubernetes-side retries (backoffLimit 0) — the workflow
 * retries with a new Job, so every failed attempt stays visible until the cleanup.
 */
export function agentJob(p: AgentJob): Manifest {
  return {
    apiVersion: 'batch/v1',
    kind: 'Job',
    metadata: { name: p.name, namespace: p.namespace, labels: p.labels },
    spec: {
      backoffLimit: 0,
      activeDeadlineSeconds: p.activeDeadlineSeconds,
      template: {
        metadata: { labels: p.labels, ...(p.podAnnotations && Object.keys(p.podAnnotations).length ? { annotations: p.podAnnotations } : {}) },
        spec: {
          restartPolicy: 'Never',
          serviceAccountName: p.serviceAccount,
          securityContext: { runAsNonRoot: true, runAsUser: 65532, fsGroup: 65532 },
          containers: [
            {
              name: 'agent',
              image: p.image,
              ...(p.command ? { command: p.command } : {}),
              args: p.args,
              env: Object.entries({ ...p.env, ...(p.gcpCredentials ? { GOOGLE_APPLICATION_CREDENTIALS: AGENT_GCP_CREDENTIALS_PATH } : {}) }).map(([name, value]) => ({ name, value })),
              volumeMounts: [
                { name: 'data', mountPath: AGENT_MOUNT_PATH, readOnly: p.readOnly },
                ...(p.gcpCredentials ? [{ name: 'gcp-credentials', mountPath: AGENT_GCP_DIR, readOnly: true }] : []),
              ],
              resources: p.resources ?? { requests: { cpu: '250m', memory: '128Mi' }, limits: { memory: '256Mi' } },
              terminationMessagePolicy: 'FallbackToLogsOnError',
            },
          ],
          volumes: [{ name: 'data', persistentVolumeClaim: { claimName: p.claim, readOnly: p.readOnly } }, ...(p.gcpCredentials ? [gcpVolume(p.gcpCredentials)] : [])],
        },
      },
    },
  };
}
