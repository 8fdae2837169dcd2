// Runs the backup agent once as a Kubernetes Job and waits for it: the shared core of backup.upload
// and backup.restore. Idempotent across activity retries and worker crashes: a Job of the same volume
// and run that is still running is adopted (never two agents on one volume), one that succeeded is
// taken as the result; only after a failure does a new attempt create a new Job (`<prefix>-<attempt>`).
// The agent's last stdout line is its JSON result, read from the pod's log (or its termination
// message when the log is not available).
import { CoreV1Api } from '@kubernetes/client-node';
import { ApplicationFailure } from '@temporalio/common';
import type { ActivityContext } from '../define.ts';
import { kube, type KObject } from '../kubernetes/_client.ts';
import { classified, httpStatusOf } from '../kubernetes/_errors.ts';
import { ensureServiceAccount } from '../kubernetes/_service-account.ts';
import { AGENT_GCP_CONFIGMAP, agentCredentialsConfigMap, agentJob, LABEL_BACKUP_ITEM, type AgentJob } from '../kubernetes/builders/backup.ts';
import { MANAGED_BY } from '../kubernetes/builders/labels.ts';

export const LABEL_AGENT_MODE = 'cedille.etsmtl.ca/agent-mode';

export interface JobRun {
  job: string;
  attempt: number;
  seconds: number;
  /** The agent's JSON result (its last stdout line), when it could be read. */
  result?: unknown;
}

type JobState = { state: 'running' } | { state: 'succeeded' } | { state: 'failed'; reason: string };

function jobState(job: KObject): JobState {
  const conditions = ((job.status as { conditions?: { type: string; status: string; reason?: string; message?: string }[] } | undefined)?.conditions ?? []).filter((c) => c.status === 'True');
  if (conditions.some((c) => c.type === 'Complete')) return { state: 'succeeded' };
  const failed = conditions.find((c) => c.type === 'Failed');
  if (failed) return { state: 'failed', reason: [failed.reason, failed.message].filter(Boolean).join(': ') || 'Failed' };
  return { state: 'running' };
}

const sleep = (ms: number, signal: AbortSignal) =>
  new Promise<void>((resolve) => {
    const t = setTimeout(resolve, ms);
    signal.addEventListener('abort', () => (clearTimeout(t), resolve()), { once: true });
  });

interface PodReport {
  exitCode?: number;
  message?: string;
  lastLine?: string;
}

async function podReport(namespace: string, job: string, signal: AbortSignal): Promise<PodReport> {
  const client = kube();
  const pods = await classified(`list pods of Job ${namespace}/${job}`, signal, () => client.list('v1', 'Pod', { namespace, labelSelector: `job-name=${job}`, signal }));
  const pod = pods.items.sort((a, b) => String(b.metadata.creationTimestamp ?? '').localeCompare(String(a.metadata.creationTimestamp ?? '')))[0];
  if (!pod) return {};
  const statuses = (pod.status as { containerStatuses?: { name: string; state?: { terminated?: { exitCode?: number; message?: string } } }[] } | undefined)?.containerStatuses ?? [];
  const terminated = statuses.find((s) => s.name === 'agent')?.state?.terminated;
  let log: string | undefined;
  try {
    log = await client.config.makeApiClient(CoreV1Api).readNamespacedPodLog({ namespace, name: pod.metadata.name, container: 'agent', tailLines: 20 });
  } catch {
    log = undefined; // no kubelet log endpoint (or the pod is gone): the termination message stands in
  }
  const text = (log || terminated?.message || '').trim();
  return { ...(terminated?.exitCode !== undefined ? { exitCode: terminated.exitCode } : {}), ...(terminated?.message ? { message: terminated.message.trim().slice(-500) } : {}), ...(text ? { lastLine: text.split('\n').at(-1)!.trim() } : {}) };
}

function parseResult(line: string | undefined): unknown {
  if (!line?.startsWith('{')) return undefined;
  try {
    return JSON.parse(line);
  } catch {
    return undefined;
  }
}

/**
 * Runs (or adopts) the agent Job of one volume: `spec` without a name; Jobs are `<jobPrefix>-<n>`,
 * labelled with the item and mode so a retry finds the earlier ones. With `gcp` (the worker's agent
 * credential file, ./_agent-config.ts), the file is applied as a ConfigMap of the namespace and mounted
 * with a projected token.
 */
export async function runAgentJob(spec: Omit<AgentJob, 'name'>, jobPrefix: string, mode: 'backup' | 'restore', ctx: ActivityContext, gcp?: { content: string; audience: string }): Promise<JobRun> {
  const client = kube();
  const { namespace } = spec;
  const labels: Record<string, string> = { ...spec.labels, [LABEL_AGENT_MODE]: mode };
  const item = labels[LABEL_BACKUP_ITEM];
  if (!item) throw new Error('agent Job labels need the backup item label');
  const started = Date.now();
  // Vault's Kubernetes auth role binds the Jobs' service account by name: it must exist in the volume's namespace.
  await ensureServiceAccount(namespace, spec.serviceAccount, ctx.signal);
  if (gcp) {
    const configMap = agentCredentialsConfigMap({ namespace, name: AGENT_GCP_CONFIGMAP, content: gcp.content, labels: MANAGED_BY }) as KObject;
    await classified(`apply ConfigMap ${namespace}/${AGENT_GCP_CONFIGMAP}`, ctx.signal, () => client.apply(configMap, { force: true, signal: ctx.signal }));
    spec = { ...spec, gcpCredentials: { configMap: AGENT_GCP_CONFIGMAP, audience: gcp.audience } };
  }
  const existing = await classified(`list Jobs of ${namespace}/${jobPrefix}`, ctx.signal, () =>
    client.list('batch/v1', 'Job', { namespace, labelSelector: `${LABEL_BACKUP_ITEM}=${item},${LABEL_AGENT_MODE}=${mode}`, signal: ctx.signal }),
  );
  const ours = existing.items.filter((j) => j.metadata.name.startsWith(`${jobPrefix}-`));
  let job = ours.find((j) => jobState(j).state === 'succeeded') ?? ours.find((j) => jobState(j).state === 'running');
  const attempt = ours.reduce((n, j) => Math.max(n, Number(j.metadata.name.slice(jobPrefix.length + 1)) || 0), 0) + (job ? 0 : 1);
  if (!job) {
    const manifest = agentJob({ ...spec, labels, name: `${jobPrefix}-${attempt}` }) as KObject;
    job = (await classified(`apply Job ${namespace}/${manifest.metadata.name}`, ctx.signal, () => client.apply(manifest, { force: true, signal: ctx.signal }))).object;
    ctx.log.info(`started ${mode} Job ${namespace}/${job.metadata.name}`);
  } else {
    ctx.log.info(`adopting ${mode} Job ${namespace}/${job.metadata.name} of an earlier attempt`);
  }
  const name = job.metadata.name;
  const ref = { apiVersion: 'batch/v1', kind: 'Job', namespace, name };
  for (;;) {
    if (ctx.signal.aborted) throw ctx.signal.reason ?? new Error('cancelled');
    const state = jobState(job);
    ctx.heartbeat({ job: name, state: state.state, seconds: Math.round((Date.now() - started) / 1000) });
    if (state.state === 'succeeded') {
      const report = await podReport(namespace, name, ctx.signal);
      const result = parseResult(report.lastLine);
      return { job: name, attempt, seconds: Math.round((Date.now() - started) / 100) / 10, ...(result !== undefined ? { result } : {}) };
    }
    if (state.state === 'failed') {
      const report = await podReport(namespace, name, ctx.signal);
      const detail = [state.reason, report.exitCode !== undefined ? `exit code ${report.exitCode}` : '', report.message ?? ''].filter(Boolean).join('; ');
      // Exit 3: checksum or authentication failure — the same bytes or identity will fail again.
      if (report.exitCode === 3) throw ApplicationFailure.create({ message: `${mode} Job ${namespace}/${name} failed: ${detail}`, type: 'AgentCheckFailed', nonRetryable: true });
      if (report.exitCode === 2) throw ApplicationFailure.create({ message: `${mode} Job ${namespace}/${name} failed: ${detail}`, type: 'AgentUsage', nonRetryable: true });
      throw ApplicationFailure.create({ message: `${mode} Job ${namespace}/${name} failed: ${detail}`, type: 'AgentJobFailed', nonRetryable: false });
    }
    await sleep(1000, ctx.signal);
    job = await classified(`get Job ${namespace}/${name}`, ctx.signal, async () => {
      try {
        return await client.get(ref, ctx.signal);
      } catch (err) {
        // Deleted under us: the next attempt starts a new Job.
        if (httpStatusOf(err) === 404) throw ApplicationFailure.create({ message: `${mode} Job ${namespace}/${name} disappeared`, type: 'AgentJobLost', nonRetryable: false });
        throw err;
      }
    });
  }
}
