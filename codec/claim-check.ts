// The claim check: keeps bulk data out of workflow history. On encode, a payload whose serialised
// size is above the threshold is stored whole (the Payload proto, metadata included) in a blob store
// under the sha256 of those bytes and replaced by a small reference payload:
//   metadata.encoding = "binary/cedille-claim-check"
//   data              = JSON { "key": "<sha256 hex>", "size": <bytes> }
// On decode, a reference is fetched and checked against its hash (a missing object or a mismatch is a
// CodecError naming the key); every other payload passes through, so histories recorded before the
// claim check still read. It runs after the encryption codec (codec/index.ts): it stores only
// encrypted payloads, and refuses any other.
import { createHash } from 'node:crypto';
import type { Payload, PayloadCodec } from '@temporalio/common';
import proto from '@temporalio/proto';
import { CodecError, isEncrypted } from './aes-gcm-codec.ts';
import type { BlobStore } from './stores/store.ts';

export const CLAIM_CHECK_ENCODING = 'binary/cedille-claim-check';
/** Payloads above this many bytes (serialised) leave history: well under Temporal's 512 KB warning and 2 MB limit. */
export const DEFAULT_CLAIM_CHECK_THRESHOLD = 128 * 1024;

const PayloadProto = proto.temporal.api.common.v1.Payload;
const KEY = /^[0-9a-f]{64}$/;

export interface ClaimCheckReference {
  key: string;
  size: number;
}

export function isClaimCheck(payload: Payload): boolean {
  return Buffer.from(payload.metadata?.encoding ?? []).toString('utf8') === CLAIM_CHECK_ENCODING;
}

/** The reference a claim-check payload holds; throws a CodecError when it is malformed. */
export function claimCheckReference(payload: Payload): ClaimCheckReference {
  let ref: Partial<ClaimCheckReference>;
  try {
    ref = JSON.parse(Buffer.from(payload.data ?? []).toString('utf8')) as Partial<ClaimCheckReference>;
  } catch {
    throw new CodecError('claim-check reference is not JSON');
  }
  if (typeof ref.key !== 'string' || !KEY.test(ref.key) || !Number.isSafeInteger(ref.size) || ref.size! < 0) {
    throw new CodecError('claim-check reference must be { "key": "<sha256 hex>", "size": <bytes> }');
  }
  return { key: ref.key, size: ref.size! };
}

export interface ClaimCheckOptions {
  store: BlobStore;
  /** Payloads whose serialised size is above this many bytes are stored (default 128 KiB). */
  threshold?: number;
}

export class ClaimCheckCodec implements PayloadCodec {
  readonly store: BlobStore;
  readonly threshold: number;

  constructor({ store, threshold = DEFAULT_CLAIM_CHECK_THRESHOLD }: ClaimCheckOptions) {
    if (!Number.isSafeInteger(threshold) || threshold < 0) throw new Error(`claim-check threshold ${threshold} is not a byte count`);
    this.store = store;
    this.threshold = threshold;
  }

  async encode(payloads: Payload[]): Promise<Payload[]> {
    return Promise.all(payloads.map((p) => this.check(p)));
  }

  async decode(payloads: Payload[]): Promise<Payload[]> {
    return Promise.all(payloads.map((p) => (isClaimCheck(p) ? this.redeem(p) : p)));
  }

  /** The payload itself when small enough, else the reference to its stored bytes. */
  async check(payload: Payload): Promise<Payload> {
    const bytes = PayloadProto.encode(payload).finish();
    if (bytes.length <= this.threshold) return payload;
    // Defence in depth: the claim check runs after encryption, and must never write clear data out.
    if (!isEncrypted(payload)) throw new Error(`claim check: refusing to store a ${bytes.length}-byte payload that is not encrypted (the encryption codec must run first)`);
    const key = createHash('sha256').update(bytes).digest('hex');
    await this.store.put(key, bytes);
    const ref: ClaimCheckReference = { key, size: bytes.length };
    return { metadata: { encoding: Buffer.from(CLAIM_CHECK_ENCODING) }, data: Buffer.from(JSON.stringify(ref)) };
  }

  /** The payload a reference stands for, fetched and checked against its key. */
  async redeem(payload: Payload): Promise<Payload> {
    const ref = claimCheckReference(payload);
    return storedPayload(ref, await this.store.get(ref.key), this.store.url);
  }
}

/** The payload of a stored object (undefined: missing from `where`), checked against its reference. */
export function storedPayload({ key, size }: ClaimCheckReference, bytes: Uint8Array | undefined, where: string): Payload {
  if (!bytes) throw new CodecError(`claim-check object ${key} is missing from ${where}`);
  const actual = createHash('sha256').update(bytes).digest('hex');
  if (actual !== key || bytes.length !== size) {
    throw new CodecError(`claim-check object ${key} in ${where} does not match its key (sha256 ${actual}, ${bytes.length} bytes): tampered or corrupt`);
  }
  const stored = PayloadProto.decode(bytes);
  return { metadata: stored.metadata ?? {}, data: stored.data };
}
