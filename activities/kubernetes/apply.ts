import { z } from 'zod';
import { defineActivity } from '../define.ts';
import { FIELD_MANAGER, kube, type KObject } from './_client.ts';
import { classified } from './_errors.ts';
import { describeRef, kNamespace, manifest, objectSummary, summary } from './_objects.ts';

export default defineActivity({
  name: 'kubernetes.apply',
  description:
    `Server-side apply of manifests, in order, with field manager ${FIELD_MANAGER}. Idempotent: re-applying the same ` +
    'manifests changes nothing. A conflict with another field manager fails with ApplyConflict (naming the manager and ' +
    'field) unless force is set. 409/429/5xx and network errors are retried; 400/403/404/422 are not.',
  input: z.strictObject({
    manifests: z.array(manifest).min(1).max(500),
    force: z.boolean().default(false).describe('take over fields owned by other field managers'),
    namespace: kNamespace.optional().describe('namespace of namespaced manifests that name none'),
  }),
  output: z.object({
    objects: z.array(objectSummary.extend({ created: z.boolean() })),
  }),
  async handler({ manifests, force, namespace }, ctx) {
    const client = kube();
    const objects = [];
    for (const [i, raw] of manifests.entries()) {
      const { managedFields: _ignored, ...metadata } = raw.metadata as KObject['metadata'];
      const obj = { ...raw, metadata: namespace && !metadata.namespace ? { ...metadata, namespace } : metadata } as KObject;
      const what = `apply ${describeRef({ apiVersion: obj.apiVersion, kind: obj.kind, namespace: obj.metadata.namespace, name: obj.metadata.name })}`;
      const { object, created } = await classified(what, ctx.signal, () => client.apply(obj, { force, signal: ctx.signal }));
      // A summary only, never the object the server returns (a Secret's values would reach history).
      objects.push({ ...summary(object), created });
      ctx.heartbeat({ applied: i + 1, of: manifests.length });
    }
    return { objects };
  },
});
