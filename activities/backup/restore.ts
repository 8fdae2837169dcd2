// Restores a backup into a PVC: the agent's `restore` as a Job mounting the claim read-write. The agent
// checks the object's sha256 against the manifest before extracting anything (exit 3 otherwise: a
// corrupted backup fails at once, not after retries); the files it reports are compared with the
// manifest's count and size.
import { ApplicationFailure } from '@temporalio/common';
import { z } from 'zod';
import { defineActivity } from '../define.ts';
import { readManifest } from '../gcs/_storage.ts';
import { kName, kNamespace } from '../kubernetes/_objects.ts';
import { backupNames } from '../kubernetes/builders/backup.ts';
import { agentConfig } from './_agent-config.ts';
import { runAgentJob } from './_job.ts';
import { Agent, VaultRef, restoreArgs } from './_params.ts';

const RestoreResult = z.looseObject({ fileCount: z.number().optional(), sizeBytes: z.number().optional() });

export default defineActivity({
  name: 'backup.restore',
  description: 'Runs the backup agent (restore) as a Job writing a backup into a PVC, waits for it, and compares the restored file count and size with the manifest.',
  input: z.strictObject({
    run: z.string().min(1),
    bucket: z.string().min(3),
    manifest: z.string().min(1).describe('object name of manifest.json'),
    namespace: kNamespace,
    pvc: kName,
    agent: Agent,
    vault: VaultRef,
  }),
  output: z.object({
    job: z.string(),
    seconds: z.number(),
    expected: z.object({ fileCount: z.int(), size: z.int(), sha256: z.string() }),
    restored: z.object({ fileCount: z.int().optional(), size: z.int().optional() }),
  }),
  async handler({ run, bucket, manifest, namespace, pvc, agent, vault }, ctx) {
    const config = agentConfig(); // before anything: a worker without it fails the step at once
    const m = await readManifest(bucket, manifest);
    const names = backupNames(run, namespace, pvc);
    const job = await runAgentJob(
      {
        namespace,
        labels: names.labels,
        image: config.image,
        args: restoreArgs({ bucket, manifest, agent, vault, config }),
        claim: pvc,
        readOnly: false,
        serviceAccount: agent.serviceAccount,
        podAnnotations: agent.podAnnotations,
        activeDeadlineSeconds: agent.timeoutSeconds,
      },
      names.jobPrefix.replace(/^backup-/, 'restore-'),
      'restore',
      ctx,
      config.gcpCredentials,
    );
    const r = RestoreResult.safeParse(job.result).data;
    const fileCount = r?.fileCount;
    const size = r?.sizeBytes;
    const mismatch = [fileCount !== undefined && fileCount !== m.fileCount ? `${fileCount} files (manifest: ${m.fileCount})` : '', size !== undefined && size !== m.sizeBytes ? `${size} bytes (manifest: ${m.sizeBytes})` : ''].filter(Boolean);
    if (mismatch.length) throw ApplicationFailure.create({ message: `restore of gs://${bucket}/${manifest} into ${namespace}/${pvc} wrote ${mismatch.join(', ')}`, type: 'RestoreMismatch', nonRetryable: true });
    return {
      job: job.job,
      seconds: job.seconds,
      expected: { fileCount: m.fileCount, size: m.sizeBytes, sha256: m.sha256 },
      restored: { ...(fileCount !== undefined ? { fileCount } : {}), ...(size !== undefined ? { size } : {}) },
    };
  },
});
