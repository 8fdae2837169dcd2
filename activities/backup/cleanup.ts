// Always last, for one volume (namespace + pvc) or a whole run: deletes the agent Jobs, the temporary
// PVC and the VolumeSnapshot a run created. By deterministic names and by the run's labels, so it
// finds them after a retry, a worker crash or a cancel; absent objects are fine (idempotent).
import { z } from 'zod';
import { defineActivity } from '../define.ts';
import { kube, type ObjectRef } from '../kubernetes/_client.ts';
import { classified, httpStatusOf } from '../kubernetes/_errors.ts';
import { kName, kNamespace } from '../kubernetes/_objects.ts';
import { backupNames, LABEL_BACKUP_ITEM, LABEL_BACKUP_RUN, runKey, SNAPSHOT_API_VERSION } from '../kubernetes/builders/backup.ts';

const KINDS = [
  { apiVersion: 'batch/v1', kind: 'Job' },
  { apiVersion: 'v1', kind: 'PersistentVolumeClaim' },
  { apiVersion: SNAPSHOT_API_VERSION, kind: 'VolumeSnapshot' },
] as const;

export default defineActivity({
  name: 'backup.cleanup',
  description: 'Deletes the Jobs, temporary PVC and VolumeSnapshot of one volume of a run, or (without namespace/pvc) everything the run left anywhere.',
  input: z.strictObject({ run: z.string().min(1), namespace: kNamespace.optional(), pvc: kName.optional() }),
  output: z.object({ deleted: z.array(z.string()).describe('Kind namespace/name') }),
  async handler({ run, namespace, pvc }, ctx) {
    const client = kube();
    const selector = namespace && pvc ? `${LABEL_BACKUP_ITEM}=${backupNames(run, namespace, pvc).itemKey}` : `${LABEL_BACKUP_RUN}=${runKey(run)}`;
    const targets: ObjectRef[] = [];
    for (const k of KINDS) {
      const list = await classified(`list ${k.kind} ${selector}`, ctx.signal, () => client.list(k.apiVersion, k.kind, { ...(namespace ? { namespace } : {}), labelSelector: selector, signal: ctx.signal }));
      for (const item of list.items) if (!item.metadata.deletionTimestamp) targets.push({ ...k, namespace: item.metadata.namespace, name: item.metadata.name });
    }
    if (namespace && pvc) {
      // By name too: an object whose labels were changed by hand is still ours.
      const names = backupNames(run, namespace, pvc);
      for (const [k, name] of [[KINDS[1], names.temporaryClaim], [KINDS[2], names.snapshot]] as const) {
        if (!targets.some((t) => t.kind === k.kind && t.name === name)) targets.push({ ...k, namespace, name });
      }
    }
    const deleted: string[] = [];
    // Jobs (and their pods) first, then the claim they mount, then the snapshot it came from.
    for (const t of targets) {
      const gone = await classified(`delete ${t.kind} ${t.namespace}/${t.name}`, ctx.signal, async () => {
        try {
          await client.delete(t, { propagationPolicy: 'Background', signal: ctx.signal });
          return true;
        } catch (err) {
          if (httpStatusOf(err) === 404) return false;
          throw err;
        }
      });
      if (gone) deleted.push(`${t.kind} ${t.namespace}/${t.name}`);
      ctx.heartbeat({ deleted: deleted.length });
    }
    return { deleted };
  },
});
