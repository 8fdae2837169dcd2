// The workspaces of a class that exist in the cluster (namespaces labelled with its course and
// term), and which of them belong to students no longer on the roster.
import { z } from 'zod';
import { defineActivity } from '../define.ts';
import { kube } from '../kubernetes/_client.ts';
import { classified } from '../kubernetes/_errors.ts';
import { Course, classSelector, STUDENT_ID_ANNOTATION } from './_params.ts';

const Workspace = z.object({ namespace: z.string(), studentId: z.string() });

export default defineActivity({
  name: 'workspaces.list',
  description: "A class's workspaces in the cluster; with `roster` (student ids), also those whose student left.",
  input: z.strictObject({ course: Course, roster: z.array(z.string()).max(20_000).optional() }),
  output: z.object({ workspaces: z.array(Workspace), leavers: z.array(Workspace) }),
  async handler({ course, roster }, ctx) {
    const client = kube();
    const workspaces: z.infer<typeof Workspace>[] = [];
    let cont: string | undefined;
    do {
      const page = await classified('list workspace namespaces', ctx.signal, () =>
        client.list('v1', 'Namespace', { labelSelector: classSelector(course), limit: 500, ...(cont ? { continue: cont } : {}), signal: ctx.signal }),
      );
      for (const ns of page.items) {
        const annotations = (ns.metadata.annotations ?? {}) as Record<string, string>;
        workspaces.push({ namespace: ns.metadata.name!, studentId: annotations[STUDENT_ID_ANNOTATION] ?? '' });
      }
      cont = page.metadata?.continue || undefined;
    } while (cont);
    const keep = new Set(roster ?? []);
    return { workspaces, leavers: roster ? workspaces.filter((w) => !keep.has(w.studentId)) : [] };
  },
});
