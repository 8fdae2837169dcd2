// Term end: deletes every workspace namespace of a class (and with it the PVCs and workspaces).
import { z } from 'zod';
import { defineActivity } from '../define.ts';
import { kube } from '../kubernetes/_client.ts';
import { classified, httpStatusOf } from '../kubernetes/_errors.ts';
import { Course, classSelector } from './_params.ts';

export default defineActivity({
  name: 'workspaces.teardown',
  description: "Deletes every workspace namespace of a class (course, section, term).",
  input: z.strictObject({ course: Course }),
  output: z.object({ deleted: z.array(z.string()) }),
  async handler({ course }, ctx) {
    const client = kube();
    const list = await classified('list workspace namespaces', ctx.signal, () => client.list('v1', 'Namespace', { labelSelector: classSelector(course), signal: ctx.signal }));
    const deleted: string[] = [];
    for (const ns of list.items) {
      const name = ns.metadata.name!;
      await classified(`delete namespace ${name}`, ctx.signal, async () => {
        try {
          await client.delete({ apiVersion: 'v1', kind: 'Namespace', name }, { propagationPolicy: 'Background', signal: ctx.signal });
        } catch (err) {
          if (httpStatusOf(err) !== 404) throw err;
        }
      });
      deleted.push(name);
      ctx.heartbeat({ deleted: deleted.length, of: list.items.length });
    }
    return { deleted };
  },
});
