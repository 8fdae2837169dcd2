import { z } from 'zod';
import { defineActivity } from '../define.ts';
import { FIELD_MANAGER, kube } from './_client.ts';
import { classified } from './_errors.ts';
import { kNamespace } from './_objects.ts';

export default defineActivity({
  name: 'kubernetes.ensureNamespace',
  description: `Creates or updates a namespace with labels and annotations (server-side apply, field manager ${FIELD_MANAGER}).`,
  input: z.strictObject({
    name: kNamespace,
    labels: z.record(z.string(), z.string()).default({}),
    annotations: z.record(z.string(), z.string()).default({}),
    force: z.boolean().default(false),
  }),
  output: z.object({ name: z.string(), uid: z.string(), resourceVersion: z.string(), created: z.boolean(), labels: z.record(z.string(), z.string()) }),
  async handler({ name, labels, annotations, force }, ctx) {
    const metadata = { name, ...(Object.keys(labels).length ? { labels } : {}), ...(Object.keys(annotations).length ? { annotations } : {}) };
    const { object, created } = await classified(`apply v1 Namespace ${name}`, ctx.signal, () =>
      kube().apply({ apiVersion: 'v1', kind: 'Namespace', metadata }, { force, signal: ctx.signal }),
    );
    return { name, uid: object.metadata.uid ?? '', resourceVersion: object.metadata.resourceVersion ?? '', created, labels: object.metadata.labels ?? {} };
  },
});
