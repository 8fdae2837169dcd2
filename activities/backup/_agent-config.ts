// Where the backup agent's Jobs send their credentials, and what they run: from the worker's
// configuration only, never from a run's input. The agent's pod logs in to Vault with its
// service-account token (Kubernetes auth) and writes to GCS with the pod's credentials, so a run that
// could name the Vault address, the GCS endpoint, the image or the entrypoint could send those
// credentials anywhere (docs/SECURITY.md, "Where the worker's credentials go").
//
// The agent runs in the cluster, the worker maybe not (`npm start` against a remote cluster), so each
// destination has its own variable, defaulting to the worker's own:
//   CEDILLE_BACKUP_AGENT_VAULT_ADDR    (default VAULT_ADDR, then BAO_ADDR; required)
//   CEDILLE_BACKUP_AGENT_GCS_ENDPOINT  (default CEDILLE_GCS_ENDPOINT; unset: Google's GCS)
//   CEDILLE_BACKUP_AGENT_IMAGE         (required: the image built from backup-agent/Dockerfile)
//   CEDILLE_BACKUP_AGENT_GCP_CREDENTIALS  (required for Google's GCS) the path, on the worker, of the agent's
//     Workload Identity Federation credential file (`external_account`, subject token file AGENT_GCP_TOKEN_PATH):
//     put in a ConfigMap of the volume's namespace and mounted in the Job with a projected ServiceAccount token
//     (builders/backup.ts). Its STS and IAM URLs are where the agent's token goes: configuration, never input.
//     A key file is refused here: it would be copied into every namespace with a volume.
import { ApplicationFailure } from '@temporalio/common';
import { GcpCredentialsError, readCredentialFile } from '../../gcp/credentials.ts';
import { AGENT_GCP_TOKEN_PATH } from '../kubernetes/builders/backup.ts';

export interface AgentConfig {
  vaultAddress: string;
  /** Unset: the agent uses Google's GCS endpoint. */
  gcsEndpoint?: string;
  image: string;
  /** The agent's credential file (its content) and the audience of its projected token. */
  gcpCredentials?: { content: string; audience: string };
}

/** A provider's default allowed audience is its resource name with `https:` (`https://iam.googleapis.com/projects/…`). */
export function projectedTokenAudience(audience: string): string {
  return audience.startsWith('//') ? `https:${audience}` : audience;
}

function agentCredentials(file: string): { content: string; audience: string } {
  const fail = (why: string) => ApplicationFailure.create({ message: `CEDILLE_BACKUP_AGENT_GCP_CREDENTIALS=${file}: ${why}`, type: 'BackupAgentNotConfigured', nonRetryable: true });
  let json: Record<string, unknown>;
  try {
    json = readCredentialFile(file);
  } catch (err) {
    throw fail(err instanceof GcpCredentialsError ? err.message : String(err));
  }
  if (json.type !== 'external_account') throw fail('the agent takes an external_account (Workload Identity Federation) file, not a key file');
  const source = (json.credential_source as { file?: string }).file;
  if (source !== AGENT_GCP_TOKEN_PATH) throw fail(`credential_source.file must be ${AGENT_GCP_TOKEN_PATH} (the Job's projected token), not ${source}`);
  return { content: JSON.stringify(json, null, 2), audience: projectedTokenAudience(json.audience as string) };
}

function notConfigured(what: string): ApplicationFailure {
  return ApplicationFailure.create({ message: `the worker has no ${what}: the backup agent's Jobs cannot be configured`, type: 'BackupAgentNotConfigured', nonRetryable: true });
}

function url(name: string, value: string): string {
  try {
    const u = new URL(value);
    if (u.protocol === 'http:' || u.protocol === 'https:') return value.replace(/\/+$/, '');
  } catch {
    // reported below
  }
  throw ApplicationFailure.create({ message: `${name} is not an http(s) URL: ${value}`, type: 'BackupAgentNotConfigured', nonRetryable: true });
}

/** The agent's destinations and image, from the worker's environment. */
export function agentConfig(env: NodeJS.ProcessEnv = process.env): AgentConfig {
  const vaultVar = ['CEDILLE_BACKUP_AGENT_VAULT_ADDR', 'VAULT_ADDR', 'BAO_ADDR'].find((v) => env[v]);
  if (!vaultVar) throw notConfigured('Vault address for the agent (CEDILLE_BACKUP_AGENT_VAULT_ADDR or VAULT_ADDR)');
  const image = env.CEDILLE_BACKUP_AGENT_IMAGE;
  if (!image) throw notConfigured('agent image (CEDILLE_BACKUP_AGENT_IMAGE)');
  const gcsVar = ['CEDILLE_BACKUP_AGENT_GCS_ENDPOINT', 'CEDILLE_GCS_ENDPOINT'].find((v) => env[v]);
  const credentials = env.CEDILLE_BACKUP_AGENT_GCP_CREDENTIALS?.trim();
  // Google's GCS needs a token, and the cluster has no metadata server to give one: no credentials, no backup.
  if (!gcsVar && !credentials) throw notConfigured('GCP credentials for the agent (CEDILLE_BACKUP_AGENT_GCP_CREDENTIALS)');
  return {
    vaultAddress: url(vaultVar, env[vaultVar]!),
    ...(gcsVar ? { gcsEndpoint: url(gcsVar, env[gcsVar]!) } : {}),
    image,
    ...(credentials ? { gcpCredentials: agentCredentials(credentials) } : {}),
  };
}

/** The worker's own Vault address (the preflight checks the transit key with the worker's token there). */
export function workerVaultAddress(env: NodeJS.ProcessEnv = process.env): string | undefined {
  const address = env.VAULT_ADDR || env.BAO_ADDR;
  return address ? address.replace(/\/+$/, '') : undefined;
}
