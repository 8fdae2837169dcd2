import { z } from 'zod';
import { defineActivity } from '../define.ts';
import { kube, type ObjectRef } from './_client.ts';
import { classified, httpStatusOf } from './_errors.ts';
import { describeRef, kName, objectRef } from './_objects.ts';

export default defineActivity({
  name: 'kubernetes.delete',
  description:
    'Deletes one object by name, or every object of a kind matching a label selector. Absent objects are a success ' +
    '(deleted: false). propagationPolicy: Background (default), Foreground or Orphan.',
  input: z
    .strictObject({
      ...objectRef,
      name: kName.optional(),
      labelSelector: z.string().min(1).optional(),
      propagationPolicy: z.enum(['Background', 'Foreground', 'Orphan']).default('Background'),
      gracePeriodSeconds: z.int().min(0).optional(),
    })
    .refine((v) => (v.name === undefined) !== (v.labelSelector === undefined), { message: 'give exactly one of name and labelSelector' }),
  output: z.object({
    deleted: z.boolean().describe('whether anything was deleted'),
    objects: z.array(z.object({ namespace: z.string().optional(), name: z.string() })).describe('what was deleted'),
  }),
  async handler({ apiVersion, kind, namespace, name, labelSelector, propagationPolicy, gracePeriodSeconds }, ctx) {
    const client = kube();
    const deleteOne = (ref: ObjectRef) =>
      classified(`delete ${describeRef(ref)}`, ctx.signal, async () => {
        try {
          await client.delete(ref, { propagationPolicy, gracePeriodSeconds, signal: ctx.signal });
          return true;
        } catch (err) {
          if (httpStatusOf(err) === 404) return false;
          throw err;
        }
      });
    const targets: ObjectRef[] = [];
    if (name !== undefined) targets.push({ apiVersion, kind, namespace, name });
    else {
      const list = await classified(`list ${describeRef({ apiVersion, kind, namespace })}`, ctx.signal, () => client.list(apiVersion, kind, { namespace, labelSelector, signal: ctx.signal }));
      for (const item of list.items) targets.push({ apiVersion, kind, namespace: item.metadata.namespace, name: item.metadata.name });
    }
    const objects = [];
    for (const ref of targets) {
      if (await deleteOne(ref)) objects.push({ ...(ref.namespace ? { namespace: ref.namespace } : {}), name: ref.name });
      ctx.heartbeat({ deleted: objects.length });
    }
    return { deleted: objects.length > 0, objects };
  },
});
