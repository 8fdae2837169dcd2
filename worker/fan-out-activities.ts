// Activities the forEach step uses to keep per-item results out of history (PATCH.pagedFanOutResults,
// workflows/interpreter/item-pages.ts): write a page, seal the pages of a fan-out into one indexed
// reference, and read every result back for an expression that needs them all.
import { ApplicationFailure } from '@temporalio/common';
import type { ResultPages } from '../codec/result-pages.ts';
import type { ItemResult } from '../workflows/interpreter/steps/for-each.ts';
import type { ItemsRef, PageRef } from '../workflows/interpreter/item-pages.ts';

export interface FanOutActivities {
  /** Whether pages go to a store (a local activity: its answer is in history, so replay agrees). */
  fanOutHasStore(): Promise<boolean>;
  fanOutWritePage(req: { items: ItemResult[] }): Promise<PageRef>;
  fanOutSeal(req: { pages: PageRef[] }): Promise<ItemsRef>;
  fanOutReadItems(req: { ref: ItemsRef }): Promise<ItemResult[]>;
}

/** `pages` undefined: no store configured, pages stay inline (the workflow seals those itself). */
export function fanOutActivities(pages: ResultPages | undefined): FanOutActivities {
  const store = (what: string): ResultPages => {
    if (pages) return pages;
    throw ApplicationFailure.nonRetryable(`${what}: this worker has no result store (CEDILLE_CLAIM_CHECK_URL and CEDILLE_CODEC_KEYS), but the fan-out's results were stored by one`, 'NoResultStore');
  };
  return {
    async fanOutHasStore() {
      return pages !== undefined;
    },
    async fanOutWritePage({ items }) {
      return pages ? pages.writePage(items) : { items };
    },
    async fanOutSeal({ pages: refs }) {
      return store('sealing fan-out results').seal(refs);
    },
    async fanOutReadItems({ ref }) {
      return store('reading fan-out results').readAll(ref);
    },
  };
}
