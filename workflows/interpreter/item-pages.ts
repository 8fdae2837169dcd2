// A forEach's per-item results kept out of its output (PATCH.pagedFanOutResults): they are written
// in pages by the `fanOut.*` activities (worker/fan-out-activities.ts) to the claim-check store,
// encrypted like every payload and named by the sha256 of their bytes, and the output carries one
// small reference to an index of those pages. Without a claim-check store (CEDILLE_CLAIM_CHECK_URL
// unset) the pages stay inline in the reference, as the results stayed in the output before.
// Pure and deterministic: imported by the workflow code and by the worker and API alike.
import type { ItemResult } from './steps/for-each.ts';

/** A page written to the store: its object key (sha256 of the stored bytes), size and item count. */
export interface StoredPage {
  key: string;
  size: number;
  count: number;
}

/** A page kept in the reference itself (no store configured). */
export interface InlinePage {
  items: ItemResult[];
}

export type PageRef = StoredPage | InlinePage;

/** The reference a paged forEach output holds in `results`. */
export interface ItemsRef {
  $items: {
    /** Number of per-item results. */
    count: number;
    /** The stored index: the list of StoredPage, in item order. */
    index?: { key: string; size: number; pages: number };
    /** Inline pages, in item order (no store). */
    pages?: InlinePage[];
  };
}

/** Serialised bytes a page aims to stay under: pages are activity inputs and outputs, well below Temporal's 512 KB warning. */
export const PAGE_BYTES = 192 * 1024;

export function isStoredPage(p: PageRef): p is StoredPage {
  return typeof (p as StoredPage).key === 'string';
}

export function isItemsRef(value: unknown): value is ItemsRef {
  if (!value || typeof value !== 'object' || Array.isArray(value)) return false;
  const inner = (value as { $items?: unknown }).$items;
  return !!inner && typeof inner === 'object' && typeof (inner as { count?: unknown }).count === 'number';
}

/** Splits results (in order, holes skipped) into chunks of at most PAGE_BYTES of JSON (one oversized item makes its own chunk). */
export function chunkResults(results: readonly (ItemResult | undefined)[], pageBytes = PAGE_BYTES): ItemResult[][] {
  const chunks: ItemResult[][] = [];
  let current: ItemResult[] = [];
  let bytes = 0;
  for (const r of results) {
    if (!r) continue;
    const size = JSON.stringify(r).length + 1;
    if (current.length && bytes + size > pageBytes) {
      chunks.push(current);
      current = [];
      bytes = 0;
    }
    current.push(r);
    bytes += size;
  }
  if (current.length) chunks.push(current);
  return chunks;
}

/** Results of several rounds merged by index (a later result replaces an earlier one), in index order. */
export function mergeResults(pages: readonly (readonly ItemResult[])[]): ItemResult[] {
  const byIndex = new Map<number, ItemResult>();
  for (const page of pages) for (const r of page) byIndex.set(r.index, r);
  return [...byIndex.values()].sort((a, b) => a.index - b.index);
}

/** The reference of inline pages (no store): merged, in index order, re-chunked. */
export function inlineItemsRef(pages: readonly InlinePage[]): ItemsRef {
  const merged = mergeResults(pages.map((p) => p.items));
  return { $items: { count: merged.length, pages: chunkResults(merged).map((items) => ({ items })) } };
}

/** Every result of an inline reference, in index order. */
export function inlineResults(ref: ItemsRef): ItemResult[] {
  return (ref.$items.pages ?? []).flatMap((p) => p.items);
}

/** Fields of a paged fan-out's output that are in it (bounded): reading only these loads nothing. */
const BOUNDED_FIELDS = ['total', 'succeeded', 'failed', 'skipped', 'failures', 'failuresOmitted'];

/** Whether expressions in `text` read step `id`'s per-item results as a whole. */
export function readsAllItems(text: string, id: string): boolean {
  const at = `steps.${id}`;
  for (let i = text.indexOf(at); i >= 0; i = text.indexOf(at, i + 1)) {
    if (/[\w$.]/.test(text[i - 1] ?? '')) continue;
    const rest = text.slice(i + at.length);
    if (/^[\w-]/.test(rest)) continue; // another step whose id starts with this one
    if (!rest.startsWith('.output')) {
      if (/^\.(status|error)\b/.test(rest)) continue;
      return true;
    }
    const field = /^\.output\.(\w+)/.exec(rest)?.[1];
    if (!field || !BOUNDED_FIELDS.includes(field)) return true;
  }
  return false;
}
