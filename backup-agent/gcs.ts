// A small GCS JSON API client over fetch: resumable uploads in chunks, simple uploads, metadata and
// downloads pinned to a generation. Not @google-cloud/storage: measured in this repository, its resumable
// upload holds ~5x its chunk size in memory (8 MiB chunks: +80 MB RSS, on top of ~30 MB for loading the
// library), which alone breaks the agent's 150 MB budget. This one holds exactly one chunk buffer.
//
// Resumable protocol (cloud.google.com/storage/docs/performing-resumable-uploads): POST ...?uploadType=resumable
// -> session URI; PUT chunks (multiples of 256 KiB) with `Content-Range: bytes a-b/*` -> 308 + `Range: bytes=0-n`;
// the last with the total -> 200 + object. After a failure: `Content-Range: bytes */*` asks what the server has,
// and the upload resumes from there (the chunk buffer still holds those bytes). Until the last chunk, no object
// exists under the name: an interrupted upload leaves nothing half-written visible.
//
// Auth: Google's auth library with the credential file of GOOGLE_APPLICATION_CREDENTIALS (gcp/credentials.ts: in
// the Job, a Workload Identity Federation file whose subject token is the pod's projected ServiceAccount token),
// else the library's default chain. The token goes only to the configured endpoint's origin. An explicit
// endpoint without a credential file (an emulator such as fake-gcs-server) gets no token. The library
// (~14 MB of RSS) is loaded only when a token is needed.
import http, { type IncomingMessage } from 'node:http';
import https from 'node:https';
import { PassThrough, Readable, Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { GcpCredentials } from '../gcp/credentials.ts';
import { AgentError, CredentialsError } from './errors.ts';

export interface GcsOptions {
  /** e.g. http://127.0.0.1:4443 (fake-gcs-server, no auth); default https://storage.googleapis.com with a token. */
  endpoint?: string;
  projectId?: string;
  /** Give up after this long without progress (seconds, default 600). */
  retrySeconds?: number;
}

export interface ObjectMetadata {
  name: string;
  bucket: string;
  size: string;
  generation: string;
  metadata?: Record<string, string>;
}

const DEFAULT_ENDPOINT = 'https://storage.googleapis.com';
const RETRYABLE_STATUS = new Set([408, 429, 500, 502, 503, 504]);

export class GcsHttpError extends AgentError {
  constructor(readonly status: number, what: string, detail: string) {
    super(`${what}: HTTP ${status}${detail ? `: ${detail.slice(0, 300)}` : ''}`);
  }
}

/**
 * One HTTP request with node:http(s): a Buffer body is written as is (fetch would copy it), a Readable body
 * is piped with backpressure; the response is returned unread.
 */
export function send(method: string, url: string, headers: Record<string, string>, body?: Buffer | Readable): Promise<IncomingMessage> {
  return new Promise((resolve, reject) => {
    const u = new URL(url);
    const lib = u.protocol === 'https:' ? https : http;
    const h: Record<string, string> = { ...headers };
    if (Buffer.isBuffer(body)) h['content-length'] = String(body.length);
    else if (!body && method !== 'GET') h['content-length'] = '0';
    const req = lib.request(u, { method, headers: h }, resolve);
    req.on('error', reject);
    if (body instanceof Readable) pipeline(body, req).catch(reject);
    else req.end(body);
  });
}

async function readAll(res: IncomingMessage): Promise<Buffer> {
  const parts: Buffer[] = [];
  for await (const c of res) parts.push(c as Buffer);
  return Buffer.concat(parts);
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function describe(err: unknown): string {
  const e = err as Error & { cause?: { code?: string; message?: string } };
  return e.cause?.code ?? e.cause?.message ?? e.message ?? String(err);
}

export class Gcs {
  readonly endpoint: string;
  private credentials: Promise<{ credentials: GcpCredentials; error: typeof import('../gcp/credentials.ts').GcpCredentialsError }> | undefined;

  constructor(readonly opts: GcsOptions = {}) {
    this.endpoint = (opts.endpoint ?? DEFAULT_ENDPOINT).replace(/\/+$/, '');
  }

  /** The Authorization header for a request to `url`: none off the configured endpoint, or for an emulator without credentials. */
  async authHeaders(url: string): Promise<Record<string, string>> {
    const file = process.env.GOOGLE_APPLICATION_CREDENTIALS?.trim();
    if (this.opts.endpoint && !file) return {};
    if (new URL(url).origin !== new URL(this.endpoint).origin) return {};
    this.credentials ??= import('../gcp/credentials.ts').then((m) => {
      try {
        return { credentials: m.processCredentials(), error: m.GcpCredentialsError };
      } catch (err) {
        throw new CredentialsError((err as Error).message);
      }
    });
    const { credentials, error } = await this.credentials;
    try {
      return await credentials.headers();
    } catch (err) {
      // Refused (an expired or rejected token, an account not to be impersonated): final. Otherwise the caller retries.
      if (err instanceof error && !err.retryable) throw new CredentialsError(err.message);
      throw err;
    }
  }

  objectUrl(bucket: string, name: string): string {
    return `${this.endpoint}/storage/v1/b/${encodeURIComponent(bucket)}/o/${encodeURIComponent(name)}`;
  }

  /**
   * One HTTP exchange, retried with backoff on network errors and 408/429/5xx for up to `retrySeconds`.
   * `ok` lists the statuses that are answers (others throw GcsHttpError).
   */
  async request(what: string, url: string, init: { method: string; headers?: Record<string, string>; body?: Buffer | string }, ok: number[] = [200]): Promise<{ status: number; headers: IncomingMessage['headers']; body: Buffer }> {
    const deadline = Date.now() + (this.opts.retrySeconds ?? 600) * 1000;
    for (let attempt = 0; ; attempt++) {
      let failure: string;
      try {
        const body = typeof init.body === 'string' ? Buffer.from(init.body) : init.body;
        const res = await send(init.method, url, { ...(await this.authHeaders(url)), ...init.headers }, body);
        const data = await readAll(res);
        const status = res.statusCode ?? 0;
        if (ok.includes(status)) return { status, headers: res.headers, body: data };
        if (!RETRYABLE_STATUS.has(status)) throw new GcsHttpError(status, what, data.toString());
        failure = `HTTP ${status}`;
      } catch (err) {
        if (err instanceof AgentError) throw err;
        failure = describe(err);
      }
      if (Date.now() > deadline) throw new AgentError(`${what}: GCS unreachable at ${this.endpoint} for ${this.opts.retrySeconds ?? 600} s (${failure})`);
      await sleep(Math.min(10_000, 250 * 2 ** Math.min(attempt, 6)) * (0.5 + Math.random() / 2));
    }
  }

  async metadata(bucket: string, name: string, generation?: string): Promise<ObjectMetadata> {
    const q = generation ? `?generation=${generation}` : '';
    const res = await this.request(`metadata of gs://${bucket}/${name}`, `${this.objectUrl(bucket, name)}${q}`, { method: 'GET' });
    return JSON.parse(res.body.toString()) as ObjectMetadata;
  }

  /** A whole small object (manifest): one request, retried as a whole. */
  async save(bucket: string, name: string, body: string, contentType = 'application/json'): Promise<ObjectMetadata> {
    const url = `${this.endpoint}/upload/storage/v1/b/${encodeURIComponent(bucket)}/o?uploadType=media&name=${encodeURIComponent(name)}`;
    const res = await this.request(`upload of gs://${bucket}/${name}`, url, { method: 'POST', body, headers: { 'content-type': contentType } });
    return JSON.parse(res.body.toString()) as ObjectMetadata;
  }

  async download(bucket: string, name: string, generation?: string): Promise<Buffer> {
    const res = await this.request(`download of gs://${bucket}/${name}`, `${this.objectUrl(bucket, name)}?alt=media${generation ? `&generation=${generation}` : ''}`, { method: 'GET' });
    return res.body;
  }

  /** The object's bytes as a stream (one GET; not resumed if the connection breaks: the caller retries). */
  async downloadStream(bucket: string, name: string, generation?: string): Promise<Readable> {
    const what = `download of gs://${bucket}/${name}`;
    const url = `${this.objectUrl(bucket, name)}?alt=media${generation ? `&generation=${generation}` : ''}`;
    const deadline = Date.now() + (this.opts.retrySeconds ?? 600) * 1000;
    for (let attempt = 0; ; attempt++) {
      let failure: string;
      try {
        const res = await send('GET', url, await this.authHeaders(url));
        if (res.statusCode === 200) return res;
        const text = (await readAll(res)).toString();
        if (!RETRYABLE_STATUS.has(res.statusCode ?? 0)) throw new GcsHttpError(res.statusCode ?? 0, what, text);
        failure = `HTTP ${res.statusCode}`;
      } catch (err) {
        if (err instanceof AgentError) throw err;
        failure = describe(err);
      }
      if (Date.now() > deadline) throw new AgentError(`${what}: GCS unreachable at ${this.endpoint} (${failure})`);
      await sleep(Math.min(10_000, 250 * 2 ** Math.min(attempt, 6)) * (0.5 + Math.random() / 2));
    }
  }

  /** A Writable that uploads what it is given as one object (see the header comment); `result` once finished. */
  resumableUpload(bucket: string, name: string, opts: { chunkBytes: number; metadata?: Record<string, string>; onRetry?(why: string): void }): Writable & { result: ObjectMetadata | undefined } {
    return opts.chunkBytes > 0
      ? new ResumableUpload(this, bucket, name, opts.chunkBytes, opts.metadata ?? {}, opts.onRetry)
      : new StreamingUpload(this, bucket, name, opts.metadata ?? {});
  }

  async startSession(bucket: string, name: string, metadata: Record<string, string>): Promise<string> {
    const url = `${this.endpoint}/upload/storage/v1/b/${encodeURIComponent(bucket)}/o?uploadType=resumable&name=${encodeURIComponent(name)}`;
    const res = await this.request(`resumable upload of gs://${bucket}/${name}`, url, {
      method: 'POST',
      headers: { 'content-type': 'application/json; charset=UTF-8', 'x-upload-content-type': 'application/octet-stream' },
      body: JSON.stringify({ name, contentType: 'application/octet-stream', metadata }),
    });
    const location = res.headers.location;
    if (!location) throw new AgentError(`resumable upload of gs://${bucket}/${name}: no session URI in the response`);
    return location;
  }
}

/** Chunk sizes must be multiples of 256 KiB; `mib` is rounded to that; 0 = one streaming request. */
export function uploadChunkBytes(mib: number): number {
  return mib <= 0 ? 0 : Math.max(1, Math.round(mib * 4)) * (256 << 10);
}

export class ResumableUpload extends Writable {
  private session: string | undefined;
  private readonly buffer: Buffer;
  /** Bytes in `buffer`, and the object offset of buffer[0]. */
  private filled = 0;
  private base = 0;
  result: ObjectMetadata | undefined;
  retries = 0;

  constructor(
    private readonly gcs: Gcs,
    private readonly bucket: string,
    private readonly name: string,
    chunkBytes: number,
    private readonly metadata: Record<string, string>,
    private readonly onRetry?: (why: string) => void,
  ) {
    super({ highWaterMark: 1 << 20 });
    if (chunkBytes % (256 << 10) !== 0 || chunkBytes <= 0) throw new RangeError(`chunk size ${chunkBytes} is not a positive multiple of 256 KiB`);
    this.buffer = Buffer.allocUnsafe(chunkBytes);
  }

  private get what(): string {
    return `resumable upload of gs://${this.bucket}/${this.name}`;
  }

  /** The offset the server has persisted (`Range: bytes=0-n` -> n+1; none -> 0), or the object if complete. */
  private async serverOffset(): Promise<{ offset: number; done?: ObjectMetadata }> {
    const res = await this.gcs.request(`${this.what} (status)`, this.session!, { method: 'PUT', headers: { 'content-range': 'bytes */*' } }, [200, 201, 308]);
    if (res.status !== 308) return { offset: -1, done: JSON.parse(res.body.toString()) as ObjectMetadata };
    return { offset: rangeEnd(res.headers.range) };
  }

  /**
   * Sends buffer[0..filled) (object bytes base..base+filled), the last request of the object if `total` is set;
   * after a failure, asks the server what it has and resends from there.
   */
  private async flushBuffer(total?: number): Promise<void> {
    this.session ??= await this.gcs.startSession(this.bucket, this.name, this.metadata);
    const deadline = () => Date.now() + (this.gcs.opts.retrySeconds ?? 600) * 1000;
    let giveUp = deadline();
    for (let attempt = 0; ; attempt++) {
      // Everything of a non-final chunk is on the server (told by a 308 or by a status query).
      if (this.filled === 0 && total === undefined) return;
      const body = this.buffer.subarray(0, this.filled);
      const end = this.base + this.filled - 1;
      const range = this.filled === 0 ? `bytes */${total}` : `bytes ${this.base}-${end}/${total ?? '*'}`;
      let failure: string;
      try {
        const res = await send('PUT', this.session, { ...(await this.gcs.authHeaders(this.session)), 'content-range': range }, body);
        const data = await readAll(res);
        const status = res.statusCode ?? 0;
        if (status === 200 || status === 201) {
          this.result = JSON.parse(data.toString()) as ObjectMetadata;
          this.base += this.filled;
          this.filled = 0;
          return;
        }
        if (status === 308) {
          this.advance(rangeEnd(res.headers.range));
          giveUp = deadline();
          continue; // the server kept only part of the chunk: send the rest
        }
        if (status === 404 || status === 410) throw new AgentError(`${this.what}: the upload session expired or was lost (HTTP ${status}); the backup must start again`);
        if (!RETRYABLE_STATUS.has(status)) throw new GcsHttpError(status, this.what, data.toString());
        failure = `HTTP ${status}`;
      } catch (err) {
        if (err instanceof AgentError) throw err;
        failure = describe(err);
      }
      if (Date.now() > giveUp) throw new AgentError(`${this.what}: GCS unreachable at ${this.gcs.endpoint} for ${this.gcs.opts.retrySeconds ?? 600} s (${failure})`);
      this.retries++;
      this.onRetry?.(failure);
      await sleep(Math.min(10_000, 250 * 2 ** Math.min(attempt, 6)) * (0.5 + Math.random() / 2));
      const status = await this.serverOffset();
      if (status.done) {
        this.result = status.done;
        this.base += this.filled;
        this.filled = 0;
        return;
      }
      this.advance(status.offset);
    }
  }

  /** The server has bytes [0, offset): drop them from the buffer. */
  private advance(offset: number): void {
    const kept = offset - this.base;
    if (kept < 0 || kept > this.filled) throw new AgentError(`${this.what}: the server reports ${offset} bytes, outside the chunk being sent (${this.base}..${this.base + this.filled})`);
    if (kept === 0) return;
    this.buffer.copy(this.buffer, 0, kept, this.filled);
    this.filled -= kept;
    this.base = offset;
  }

  override _write(chunk: Buffer, _enc: BufferEncoding, done: (err?: Error | null) => void): void {
    void (async () => {
      let at = 0;
      while (at < chunk.length) {
        const n = chunk.copy(this.buffer, this.filled, at);
        this.filled += n;
        at += n;
        // A full buffer is sent only once more data follows (the last request must carry the total).
        if (this.filled === this.buffer.length && at < chunk.length) await this.flushBuffer();
      }
    })().then(() => done(), done);
  }

  override _final(done: (err?: Error | null) => void): void {
    this.flushBuffer(this.base + this.filled).then(() => done(), done);
  }
}

/** `bytes=0-n` -> n + 1; missing -> 0. */
function rangeEnd(range: string | null | undefined): number {
  const m = range ? /bytes=\d+-(\d+)/.exec(range) : null;
  return m ? Number(m[1]) + 1 : 0;
}

/**
 * The whole object in one streaming PUT of a resumable session (`Content-Range: bytes 0-*\/*`): nothing is
 * buffered, but a broken connection fails the upload (no chunk to resend). For servers whose chunked
 * uploads cost more than one request (fake-gcs-server re-hashes the whole object on every chunk).
 */
export class StreamingUpload extends Writable {
  result: ObjectMetadata | undefined;
  private readonly body = new PassThrough({ highWaterMark: 1 << 20 });
  private request: Promise<void> | undefined;

  constructor(private readonly gcs: Gcs, private readonly bucket: string, private readonly name: string, private readonly metadata: Record<string, string>) {
    super({ highWaterMark: 1 << 20 });
  }

  private start(): Promise<void> {
    this.request ??= (async () => {
      const session = await this.gcs.startSession(this.bucket, this.name, this.metadata);
      const res = await send('PUT', session, { ...(await this.gcs.authHeaders(session)), 'content-range': 'bytes 0-*/*' }, this.body);
      const text = (await readAll(res)).toString();
      if (res.statusCode !== 200 && res.statusCode !== 201) throw new GcsHttpError(res.statusCode ?? 0, `streaming upload of gs://${this.bucket}/${this.name}`, text);
      this.result = JSON.parse(text) as ObjectMetadata;
    })();
    this.request.catch(() => undefined);
    return this.request;
  }

  override _write(chunk: Buffer, _enc: BufferEncoding, done: (err?: Error | null) => void): void {
    const req = this.start();
    if (this.body.write(chunk)) done();
    else {
      // Whichever comes first: the request drained the body (backpressure), or it failed.
      Promise.race([new Promise<void>((r) => this.body.once('drain', r)), req.then(() => { throw new AgentError('the upload request ended before the data'); })]).then(() => done(), done);
    }
  }

  override _final(done: (err?: Error | null) => void): void {
    const req = this.start();
    this.body.end();
    req.then(() => done(), done);
  }

  override _destroy(err: Error | null, done: (err?: Error | null) => void): void {
    this.body.destroy(err ?? undefined);
    done(err);
  }
}
