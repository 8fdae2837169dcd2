// Where the claim check keeps payloads too large for workflow history (../claim-check.ts): a flat
// namespace of immutable objects named by the sha256 of their bytes. Objects are written once and
// never replaced, so `put` of a key that exists is a no-op (the bytes are the same by construction).

export interface BlobStore {
  /** Where the objects live, for messages (gs://bucket/prefix, file:///dir). */
  readonly url: string;
  /** Stores `bytes` under `key` unless an object of that key exists; true when this call wrote it. */
  put(key: string, bytes: Uint8Array): Promise<boolean>;
  /** The bytes under `key`; undefined when there is no such object. */
  get(key: string): Promise<Uint8Array | undefined>;
}
