// Suspends a workspace whose student left the class: the workspace scales to zero, its home PVC and
// everything else stay, so a student who comes back finds their files.
import { z } from 'zod';
import { defineActivity } from '../define.ts';
import { kube } from '../kubernetes/_client.ts';
import { classified, httpStatusOf } from '../kubernetes/_errors.ts';
import { kNamespace } from '../kubernetes/_objects.ts';
import { WORKSPACE_NAME } from '../kubernetes/builders/index.ts';

export default defineActivity({
  name: 'workspaces.suspend',
  description: 'Scales a workspace to zero replicas (the PVC is kept). Absent workspaces are a success.',
  input: z.strictObject({ namespace: kNamespace }),
  output: z.object({ namespace: z.string(), suspended: z.boolean() }),
  async handler({ namespace }, ctx) {
    const client = kube();
    const suspended = await classified(`scale ${namespace}/${WORKSPACE_NAME} to 0`, ctx.signal, async () => {
      try {
        await client.mergePatch({ apiVersion: 'apps/v1', kind: 'Deployment', namespace, name: WORKSPACE_NAME }, { spec: { replicas: 0 } }, { subresource: 'scale', signal: ctx.signal });
        return true;
      } catch (err) {
        if (httpStatusOf(err) === 404) return false;
        throw err;
      }
    });
    return { namespace, suspended };
  },
});
