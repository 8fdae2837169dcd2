// Pages of a forEach's per-item results in the claim-check store (workflows/interpreter/item-pages.ts
// says why). A page is stored exactly as the claim check stores a payload: the JSON payload of the
// items, encrypted by the codec, serialised (Payload proto) and named by the sha256 of those bytes;
// so a stored page is checked against its key when read, and the store holds nothing in clear.
// The index of a reference is stored the same way (a list of StoredPage in item order).
import { createHash } from 'node:crypto';
import { defaultPayloadConverter } from '@temporalio/common';
import proto from '@temporalio/proto';
import type { AesGcmCodec } from './aes-gcm-codec.ts';
import { storedPayload } from './claim-check.ts';
import type { BlobStore } from './stores/store.ts';
import type { ItemResult } from '../workflows/interpreter/steps/for-each.ts';
import { chunkResults, isStoredPage, mergeResults, type ItemsRef, type PageRef, type StoredPage } from '../workflows/interpreter/item-pages.ts';

const PayloadProto = proto.temporal.api.common.v1.Payload;

export class ResultPages {
  constructor(
    readonly store: BlobStore,
    private readonly codec: AesGcmCodec,
  ) {}

  /** Stores a value (encrypted) under the sha256 of its stored bytes. */
  async put(value: unknown): Promise<{ key: string; size: number }> {
    const bytes = PayloadProto.encode(this.codec.encrypt(defaultPayloadConverter.toPayload(value))).finish();
    const key = createHash('sha256').update(bytes).digest('hex');
    await this.store.put(key, bytes);
    return { key, size: bytes.length };
  }

  /** A stored value, checked against its key and decrypted; a missing or tampered object throws a CodecError naming the key. */
  async get<T>(ref: { key: string; size: number }): Promise<T> {
    const payload = storedPayload(ref, await this.store.get(ref.key), this.store.url);
    return defaultPayloadConverter.fromPayload<T>(this.codec.decrypt(payload));
  }

  async writePage(items: ItemResult[]): Promise<StoredPage> {
    return { ...(await this.put(items)), count: items.length };
  }

  async readPage(page: PageRef): Promise<ItemResult[]> {
    return isStoredPage(page) ? this.get<ItemResult[]>(page) : page.items;
  }

  /**
   * The final reference of a fan-out: every page read (rounds in order, a later result of an item
   * replacing an earlier one), merged in index order, re-paged and indexed.
   */
  async seal(pages: PageRef[]): Promise<ItemsRef> {
    const read: ItemResult[][] = [];
    for (const page of pages) read.push(await this.readPage(page));
    const merged = mergeResults(read);
    const stored: StoredPage[] = [];
    for (const chunk of chunkResults(merged)) stored.push(await this.writePage(chunk));
    const index = await this.put(stored);
    return { $items: { count: merged.length, index: { ...index, pages: stored.length } } };
  }

  /** The pages of a reference, in item order. */
  async pages(ref: ItemsRef): Promise<PageRef[]> {
    const { index, pages } = ref.$items;
    return index ? this.get<StoredPage[]>(index) : (pages ?? []);
  }

  /** Every result of a reference, in index order (what an expression reading them all gets). */
  async readAll(ref: ItemsRef): Promise<ItemResult[]> {
    const all: ItemResult[] = [];
    for (const page of await this.pages(ref)) all.push(...(await this.readPage(page)));
    return all;
  }

  /** Up to `limit` results from position `offset` (in index order), reading only the pages that hold them. */
  async readRange(ref: ItemsRef, offset: number, limit: number): Promise<ItemResult[]> {
    const out: ItemResult[] = [];
    let start = 0;
    for (const page of await this.pages(ref)) {
      const count = isStoredPage(page) ? page.count : page.items.length;
      const end = start + count;
      if (end > offset && out.length < limit) {
        const items = await this.readPage(page);
        out.push(...items.slice(Math.max(0, offset - start), Math.max(0, offset - start) + limit - out.length));
      }
      start = end;
      if (out.length >= limit) break;
    }
    return out;
  }
}
