import { z } from 'zod';
import { defineActivity } from '../define.ts';
import { kube, type KObject } from './_client.ts';
import { classified } from './_errors.ts';
import { describeRef, objectRef, trimmed } from './_objects.ts';
import { redacted } from './_redact.ts';

export default defineActivity({
  name: 'kubernetes.list',
  description:
    'Lists objects of a kind (in a namespace, or all namespaces when none is given for a namespaced kind), by label and ' +
    'field selectors; items without managedFields (Secrets without their values, keys kept), at most maxItems (truncated says when more exist).',
  input: z.strictObject({
    ...objectRef,
    labelSelector: z.string().optional().describe('e.g. app=workspace,course in (log100)'),
    fieldSelector: z.string().optional(),
    maxItems: z.int().min(1).max(5000).default(500),
  }),
  output: z.object({ items: z.array(z.record(z.string(), z.unknown())), count: z.int(), truncated: z.boolean() }),
  async handler({ apiVersion, kind, namespace, labelSelector, fieldSelector, maxItems }, ctx) {
    const client = kube();
    const items: KObject[] = [];
    let token: string | undefined;
    let truncated = false;
    do {
      const page = await classified(`list ${describeRef({ apiVersion, kind, namespace })}`, ctx.signal, () =>
        client.list(apiVersion, kind, { namespace, labelSelector, fieldSelector, limit: Math.min(500, maxItems - items.length), continue: token, signal: ctx.signal }),
      );
      // List items carry no apiVersion/kind of their own.
      for (const item of page.items) items.push(redacted(trimmed({ ...item, apiVersion, kind })));
      token = page.metadata?.continue || undefined;
      if (token && items.length >= maxItems) {
        truncated = true;
        break;
      }
    } while (token);
    return { items, count: items.length, truncated };
  },
});
