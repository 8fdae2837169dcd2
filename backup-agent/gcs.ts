// The GCS client of the agent: `apiEndpoint` for fake-gcs-server and other endpoints (anonymous there,
// Application Default Credentials, i.e. Workload Identity, against real GCS), resumable uploads in chunks
// (a failed chunk is retried from the last byte the server confirmed; until the last chunk the object does
// not exist under its name), and retries that also cover a server refusing connections for a while.
import { IdempotencyStrategy, Storage, type File } from '@google-cloud/storage';
import type { Writable, Readable } from 'node:stream';

export interface GcsOptions {
  /** e.g. http://127.0.0.1:4443 (fake-gcs-server); default the real GCS with ADC. */
  endpoint?: string;
  projectId?: string;
  /** Give up retrying after this long without progress (seconds, default 600). */
  retrySeconds?: number;
}

const CONNECTION_ERRORS = ['ECONNREFUSED', 'ECONNRESET', 'EPIPE', 'ETIMEDOUT', 'EAI_AGAIN', 'ENOTFOUND', 'UND_ERR_SOCKET', 'UND_ERR_CLOSED'];

/** Retryable: the library's list (408, 429, 5xx, resets) plus refused connections and fetch's wrapped socket errors. */
export function retryable(err: unknown): boolean {
  const e = err as { code?: unknown; message?: string; cause?: { code?: string; message?: string }; errors?: { reason?: string }[] } | undefined;
  if (!e) return false;
  const code = typeof e.code === 'string' ? Number(e.code) || e.code : e.code;
  if (typeof code === 'number' && [408, 429, 500, 502, 503, 504].includes(code)) return true;
  const texts = [String(e.code ?? ''), e.message ?? '', e.cause?.code ?? '', e.cause?.message ?? '', ...(e.errors ?? []).map((x) => x.reason ?? '')];
  return texts.some((t) => CONNECTION_ERRORS.some((c) => t.toUpperCase().includes(c)) || /fetch failed|socket hang up|other side closed|terminated|unexpected connection closure/i.test(t));
}

export function storageClient(opts: GcsOptions): Storage {
  return new Storage({
    ...(opts.endpoint ? { apiEndpoint: opts.endpoint.replace(/\/+$/, '') } : {}),
    ...(opts.projectId ? { projectId: opts.projectId } : opts.endpoint ? { projectId: 'fake-project' } : {}),
    retryOptions: {
      autoRetry: true,
      // The library counts retries and total time over the whole upload, not per chunk: keep both generous,
      // the backoff is capped at 10 s.
      maxRetries: 1000,
      totalTimeout: 24 * 3600,
      maxRetryDelay: 10,
      retryDelayMultiplier: 2,
      retryableErrorFn: retryable,
      // Our writes are whole objects under names we own: repeating one is safe.
      idempotencyStrategy: IdempotencyStrategy.RetryAlways,
    },
  });
}

/** A resumable upload stream; `chunkBytes` 0 streams the whole object in one request (no mid-object resume). */
export function uploadStream(file: File, chunkBytes: number, metadata: Record<string, string> = {}): Writable {
  return file.createWriteStream({
    resumable: true,
    ...(chunkBytes > 0 ? { chunkSize: chunkBytes } : {}),
    // The agent hashes (sha256) what it sends and the manifest carries it; the library's crc32c would
    // be a second pure-JS pass over every byte.
    validation: false,
    contentType: 'application/octet-stream',
    metadata: { metadata },
  });
}

export function downloadStream(file: File): Readable {
  return file.createReadStream({ validation: false });
}

/** Chunk sizes of resumable uploads must be multiples of 256 KiB. */
export function uploadChunkBytes(mib: number): number {
  return mib <= 0 ? 0 : Math.max(1, Math.round((mib * 4))) * (256 << 10);
}
