// The per-item results of a paged forEach (workflows/interpreter/item-pages.ts), page by page, for
// GET /v1/runs/:id/steps/:step/items. The reference comes from the run's graph (the step's fanOut
// view); stored pages are read from the claim-check store with the codec keys, inline ones as they
// are. Page tokens are signed by the API (HMAC, the link secret, a domain of their own) and bound to
// the run, the step and the reference, so a forged or foreign token is a 400 naming nextPageToken.
import { z } from 'zod';
import { AesGcmCodec } from '../../codec/aes-gcm-codec.ts';
import { ResultPages } from '../../codec/result-pages.ts';
import type { ApiConfig } from '../config.ts';
import { openToken, signToken } from '../../trust/hmac-token.ts';
import { inlineResults, type ItemsRef } from '../../workflows/interpreter/item-pages.ts';
import type { ItemResult } from '../../workflows/interpreter/steps/for-each.ts';
import { redactValue } from './redact.ts';

const DOMAIN = 'cedille-items.v1.';

export const ItemsQuery = z.object({
  pageSize: z.coerce.number().int().min(1).max(500).default(100).describe('Items per page'),
  nextPageToken: z
    .string()
    .regex(/^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+$/, 'a nextPageToken returned by the previous page')
    .max(2048)
    .optional()
    .describe('The nextPageToken of the previous page'),
});

export const ItemResultView = z.object({
  index: z.int(),
  status: z.enum(['completed', 'failed']),
  output: z.unknown().optional(),
  error: z.string().optional(),
});

export const ItemsRefView = z
  .object({
    $items: z.object({
      count: z.int(),
      index: z.object({ key: z.string(), size: z.int(), pages: z.int() }).optional(),
      pages: z.array(z.object({ items: z.array(ItemResultView) })).optional(),
    }),
  })
  .describe('Where every per-item result is (GET /v1/runs/{id}/steps/{step}/items reads them)');

const Claims = z.strictObject({ r: z.string(), s: z.string(), k: z.string(), o: z.int().min(0) });

const refKey = (ref: ItemsRef) => ref.$items.index?.key ?? 'inline';

export function itemsPageToken(secret: string, run: string, step: string, ref: ItemsRef, offset: number): string {
  return signToken(DOMAIN, { r: run, s: step, k: refKey(ref), o: offset }, secret);
}

/** The offset a page token stands for, or why it is refused. */
export function openItemsPageToken(secret: string, run: string, step: string, ref: ItemsRef, token: string): { offset: number } | { refused: string } {
  const opened = openToken(DOMAIN, token, secret);
  if (!opened.ok) return { refused: 'not a page token issued by this API (use the nextPageToken of the previous page, unchanged)' };
  const claims = Claims.safeParse(opened.claims);
  if (!claims.success) return { refused: 'not a page token issued by this API' };
  const { r, s, k, o } = claims.data;
  if (r !== run || s !== step || k !== refKey(ref)) return { refused: 'issued for another run or step' };
  return { offset: o };
}

/** Reads a reference's results: stored ones need the claim-check store and the codec keys of the API. */
export function itemReader(config: Pick<ApiConfig, 'codec' | 'claimCheck'>): ResultPages | undefined {
  return config.codec && config.claimCheck ? new ResultPages(config.claimCheck.store, new AesGcmCodec(config.codec)) : undefined;
}

/** Up to `pageSize` results from `offset`, secrets redacted. Throws when stored pages cannot be read here. */
export async function readItemsPage(pages: ResultPages | undefined, ref: ItemsRef, offset: number, pageSize: number): Promise<ItemResult[]> {
  let items: ItemResult[];
  if (!ref.$items.index) items = inlineResults(ref).slice(offset, offset + pageSize);
  else if (!pages) throw new Error('the per-item results are in the claim-check store, which this API is not configured for (CEDILLE_CLAIM_CHECK_URL and CEDILLE_CODEC_KEYS)');
  else items = await pages.readRange(ref, offset, pageSize);
  return items.map((item) => redactValue(item).value as ItemResult);
}
