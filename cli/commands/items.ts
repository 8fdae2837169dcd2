// `cedille get <run> --items <step>`: a forEach's per-item results, read page by page from
// GET /v1/runs/:id/steps/:step/items and printed as each page arrives (a 10,000-item fan-out never
// sits whole in memory). Text: one line per item; JSON: one object per line.
import type { Context } from '../context.ts';
import { oneLine } from '../render/format.ts';

/** One item as a text line: index, status, then its output or its error. */
export function itemLine(item: { index: number; status: string; output?: unknown; error?: string }): string {
  const detail = item.status === 'failed' ? (item.error ?? '') : item.output === undefined ? '' : JSON.stringify(item.output);
  return `${String(item.index).padStart(6)}  ${item.status.padEnd(9)}  ${oneLine(detail, 200)}`;
}

export async function printItems(ctx: Context, id: string, step: string, pageSize: number): Promise<number> {
  let token: string | undefined;
  let shown = 0;
  let failed = 0;
  let total = 0;
  do {
    const page = await ctx.api.items(id, step, { pageSize, ...(token ? { nextPageToken: token } : {}) });
    if (ctx.output !== 'json' && shown === 0) ctx.print(`${'index'.padStart(6)}  ${'status'.padEnd(9)}  output / error`);
    for (const item of page.items) {
      ctx.print(ctx.output === 'json' ? JSON.stringify(item) : itemLine(item));
      if (item.status === 'failed') failed++;
    }
    shown += page.items.length;
    total = page.total;
    token = page.nextPageToken;
  } while (token);
  if (ctx.output !== 'json') ctx.print(`${shown} of ${total} item(s), ${failed} failed`);
  return 0;
}
