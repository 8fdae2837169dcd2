// The claim-check store of `npm start` and single-machine setups: one file per object under a
// directory, <dir>/<first 2 hex of the key>/<key> (a few hundred entries per directory at most).
// Written to a temporary file in the same directory, fsynced, then hard-linked into place: link()
// never replaces an existing file, so two writers of the same key race harmlessly and a crash never
// leaves a truncated object under its final name.
import { randomBytes } from 'node:crypto';
import { link, mkdir, open, readFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import type { BlobStore } from './store.ts';

const KEY = /^[0-9a-f]{64}$/;

export class LocalDirStore implements BlobStore {
  readonly url: string;

  constructor(readonly dir: string) {
    this.url = pathToFileURL(dir).href;
  }

  path(key: string): string {
    if (!KEY.test(key)) throw new Error(`claim-check key ${JSON.stringify(key)} is not a sha256 hex digest`);
    return join(this.dir, key.slice(0, 2), key);
  }

  async put(key: string, bytes: Uint8Array): Promise<boolean> {
    const target = this.path(key);
    const dir = join(this.dir, key.slice(0, 2));
    await mkdir(dir, { recursive: true, mode: 0o700 });
    const tmp = join(dir, `.${key}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`);
    try {
      const fd = await open(tmp, 'wx', 0o600);
      try {
        await fd.writeFile(bytes);
        await fd.sync();
      } finally {
        await fd.close();
      }
      try {
        await link(tmp, target);
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code === 'EEXIST') return false;
        throw err;
      }
      // The new directory entry itself survives a power loss.
      const d = await open(dir, 'r');
      try {
        await d.sync();
      } finally {
        await d.close();
      }
      return true;
    } finally {
      await rm(tmp, { force: true });
    }
  }

  async get(key: string): Promise<Uint8Array | undefined> {
    try {
      return await readFile(this.path(key));
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
      throw err;
    }
  }
}
