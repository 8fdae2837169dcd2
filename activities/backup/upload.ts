// Step 4 of one volume's backup: the agent, as a Job mounting the temporary PVC read-only, streams a
// tar.gz of it, encrypted with a data key from Vault transit, to gs://<bucket>/<root>/<ns>/<pvc>/<time>-<run>/
// and writes the manifest last. Waits for the Job; a failed Job fails the attempt (retryable: the
// next attempt runs a new Job), a running one of an earlier attempt is adopted.
import { z } from 'zod';
import { defineActivity } from '../define.ts';
import { kube } from '../kubernetes/_client.ts';
import { classified } from '../kubernetes/_errors.ts';
import { kName, kNamespace } from '../kubernetes/_objects.ts';
import { backupNames, SNAPSHOT_API_VERSION } from '../kubernetes/builders/backup.ts';
import { MANIFEST_FILE, volumePrefix } from '../gcs/_storage.ts';
import { agentConfig } from './_agent-config.ts';
import { runAgentJob } from './_job.ts';
import { Agent, VaultRef, backupArgs, compactTime } from './_params.ts';

export default defineActivity({
  name: 'backup.upload',
  description: 'Runs the backup agent as a Job on the temporary PVC (read-only) and waits for it; returns where the backup was written.',
  input: z.strictObject({
    run: z.string().min(1),
    namespace: kNamespace,
    pvc: kName,
    bucket: z.string().min(3),
    prefix: z.string().default('').describe('root of the backups in the bucket'),
    agent: Agent,
    vault: VaultRef,
  }),
  output: z.object({
    job: z.string(),
    attempt: z.int(),
    seconds: z.number(),
    snapshotTime: z.string(),
    objectPrefix: z.string(),
    manifest: z.string().describe('object name of manifest.json'),
  }),
  async handler({ run, namespace, pvc, bucket, prefix, agent, vault }, ctx) {
    const config = agentConfig(); // before anything: a worker without it fails the step at once
    const names = backupNames(run, namespace, pvc);
    const snap = await classified(`get VolumeSnapshot ${namespace}/${names.snapshot}`, ctx.signal, () =>
      kube().get({ apiVersion: SNAPSHOT_API_VERSION, kind: 'VolumeSnapshot', namespace, name: names.snapshot }, ctx.signal),
    );
    const status = (snap.status ?? {}) as { creationTime?: string };
    const snapshotTime = new Date(status.creationTime ?? (snap.metadata.creationTimestamp as string | undefined) ?? Date.now()).toISOString();
    const objectPrefix = `${volumePrefix(prefix, namespace, pvc)}${compactTime(snapshotTime)}-${names.runKey}/`;
    const run_ = await runAgentJob(
      {
        namespace,
        labels: names.labels,
        image: config.image,
        args: backupArgs({ bucket, prefix: objectPrefix, namespace, pvc, snapshot: names.snapshot, snapshotTime, agent, vault, config }),
        claim: names.temporaryClaim,
        readOnly: true,
        serviceAccount: agent.serviceAccount,
        podAnnotations: agent.podAnnotations,
        activeDeadlineSeconds: agent.timeoutSeconds,
      },
      names.jobPrefix,
      'backup',
      ctx,
      config.gcpCredentials,
    );
    return { job: run_.job, attempt: run_.attempt, seconds: run_.seconds, snapshotTime, objectPrefix, manifest: objectPrefix + MANIFEST_FILE };
  },
});
