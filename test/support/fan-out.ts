// A paged forEach output's per-item results, for assertions: inline pages as they are, stored ones
// read from the run's result store (the claim-check store of this process's environment).
import { resultPagesFromEnv } from '../../codec/result-pages-env.ts';
import { inlineResults, isItemsRef } from '../../workflows/interpreter/item-pages.ts';
import type { ItemResult } from '../../workflows/interpreter/steps/for-each.ts';

export async function itemsOf(ref: unknown): Promise<ItemResult[]> {
  if (!isItemsRef(ref)) throw new Error(`not a per-item results reference: ${JSON.stringify(ref)?.slice(0, 200)}`);
  if (!ref.$items.index) return inlineResults(ref);
  const pages = resultPagesFromEnv();
  if (!pages) throw new Error('stored per-item results, but CEDILLE_CLAIM_CHECK_URL / CEDILLE_CODEC_KEYS are not set in this process');
  return pages.readAll(ref);
}
