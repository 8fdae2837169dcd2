// Inputs shared by the backup.* activities: how the agent's Jobs run (service account, Vault
// identity) and the agent's command line (see backup-agent/: `backup` / `restore` subcommands).
// The image, the Vault address and the GCS endpoint are the worker's (./_agent-config.ts): a run input
// naming one is refused (strict objects), so no run chooses where the agent's credentials go.
import { z } from 'zod';
import type { AgentConfig } from './_agent-config.ts';
import { kName, kNamespace } from '../kubernetes/_objects.ts';
import { AGENT_MOUNT_PATH } from '../kubernetes/builders/backup.ts';

export const Agent = z.strictObject({
  serviceAccount: kName.default('cedille-backup').describe("Service account of the Jobs, created in the volume's namespace; Vault's Kubernetes auth role binds it"),
  podAnnotations: z.record(z.string(), z.string()).default({}).describe('Annotations of the Job pods (e.g. sidecar.istio.io/inject: "false")'),
  project: z.string().optional(),
  timeoutSeconds: z.int().min(30).max(24 * 3600).default(3 * 3600).describe('activeDeadlineSeconds of one Job'),
});
export type Agent = z.output<typeof Agent>;

/** The pod's own service-account token: the only credential the agent presents to Vault. */
const SERVICE_ACCOUNT_TOKEN = '/var/run/secrets/kubernetes.io/serviceaccount/token';

export const VaultRef = z.strictObject({
  transitKey: z.string().min(1).describe('Transit key wrapping the data keys'),
  transitMount: z.string().default('transit'),
  role: z.string().min(1).default('cedille-backup').describe('Kubernetes auth role of the Jobs'),
});
export type VaultRef = z.output<typeof VaultRef>;

export const Volume = z.strictObject({ namespace: kNamespace, pvc: kName });

export const Retention = z.strictObject({
  daily: z.int().min(0).max(366).default(7),
  weekly: z.int().min(0).max(260).default(4),
  monthly: z.int().min(0).max(120).default(6),
});

function common(agent: Agent, vault: VaultRef, config: AgentConfig): string[] {
  return [
    ...(config.gcsEndpoint ? ['--gcs-endpoint', config.gcsEndpoint] : []),
    ...(agent.project ? ['--project', agent.project] : []),
    '--vault-addr', config.vaultAddress,
    '--vault-role', vault.role,
    '--vault-jwt-file', SERVICE_ACCOUNT_TOKEN,
    '--transit-key', vault.transitKey,
  ];
}

export function backupArgs(p: { bucket: string; prefix: string; namespace: string; pvc: string; snapshot: string; snapshotTime: string; agent: Agent; vault: VaultRef; config: AgentConfig }): string[] {
  return [
    'backup', '--source', AGENT_MOUNT_PATH, '--bucket', p.bucket, '--prefix', p.prefix.replace(/\/+$/, ''),
    '--namespace', p.namespace, '--pvc', p.pvc, '--snapshot', p.snapshot, '--snapshot-time', p.snapshotTime,
    ...common(p.agent, p.vault, p.config),
  ];
}

export function restoreArgs(p: { bucket: string; manifest: string; agent: Agent; vault: VaultRef; config: AgentConfig }): string[] {
  return ['restore', '--bucket', p.bucket, '--manifest', p.manifest, '--target', AGENT_MOUNT_PATH, ...common(p.agent, p.vault, p.config)];
}

/** `20261121T070000Z` — sortable, readable, safe in object names. */
export function compactTime(iso: string): string {
  return new Date(iso).toISOString().replace(/[-:]/g, '').replace(/\.\d+Z$/, 'Z');
}
