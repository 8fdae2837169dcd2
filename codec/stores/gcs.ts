// The claim-check store of deployments: objects <prefix>/<key> in a GCS bucket, through the GCS
// client the gcs.* activities use (activities/gcs/_storage.ts: CEDILLE_GCS_ENDPOINT selects
// fake-gcs-server in tests, else Google's GCS with application default credentials). Writes carry
// ifGenerationMatch=0: the object is created only if absent, an existing one (412) is left alone.
import type { Storage } from '@google-cloud/storage';
import type { BlobStore } from './store.ts';

function code(err: unknown): number | undefined {
  const c = (err as { code?: unknown }).code;
  return typeof c === 'number' ? c : Number.isFinite(Number(c)) ? Number(c) : undefined;
}

export class GcsStore implements BlobStore {
  readonly url: string;
  readonly #prefix: string;
  #storage: Promise<Storage> | undefined;

  /** `storage` is called on first use: the GCS library takes a few hundred ms to load, and most processes never touch the store. */
  constructor(readonly bucket: string, prefix: string, private readonly storage: () => Promise<Storage>) {
    this.#prefix = prefix.replace(/^\/+|\/+$/g, '');
    this.url = `gs://${bucket}${this.#prefix ? `/${this.#prefix}` : ''}`;
  }

  objectName(key: string): string {
    return this.#prefix ? `${this.#prefix}/${key}` : key;
  }

  async #file(key: string) {
    this.#storage ??= this.storage();
    return (await this.#storage).bucket(this.bucket).file(this.objectName(key));
  }

  async put(key: string, bytes: Uint8Array): Promise<boolean> {
    const file = await this.#file(key);
    try {
      await file.save(Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength), {
        resumable: false,
        contentType: 'application/octet-stream',
        preconditionOpts: { ifGenerationMatch: 0 },
      });
      return true;
    } catch (err) {
      if (code(err) === 412) return false;
      throw new Error(`claim check: storing ${this.url}/${key}: ${(err as Error).message}`, { cause: err });
    }
  }

  async get(key: string): Promise<Uint8Array | undefined> {
    const file = await this.#file(key);
    try {
      const [data] = await file.download({ validation: false });
      return data;
    } catch (err) {
      if (code(err) === 404) return undefined;
      throw new Error(`claim check: reading ${this.url}/${key}: ${(err as Error).message}`, { cause: err });
    }
  }
}
