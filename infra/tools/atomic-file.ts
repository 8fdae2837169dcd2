// Writes a key or secret file so that a crash (or a full disk) at any moment leaves either the old
// file or the new one, never a truncated mix: the content goes to a temporary file in the same
// directory, is fsynced, then renamed over the target (or hard-linked, when the file must not exist
// yet), and the directory is fsynced so the rename itself survives a power loss.
import { randomBytes } from 'node:crypto';
import { closeSync, fsyncSync, linkSync, mkdirSync, openSync, renameSync, rmSync, writeSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';

export interface AtomicWriteOptions {
  /** File mode of the new file (default 0600: these files hold secrets). */
  mode?: number;
  /** Fail with EEXIST instead of replacing an existing file (first-use creation racing another process). */
  exclusive?: boolean;
}

function fsyncDir(dir: string): void {
  const fd = openSync(dir, 'r');
  try {
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}

export function writeFileAtomic(path: string, content: string, { mode = 0o600, exclusive = false }: AtomicWriteOptions = {}): void {
  const dir = dirname(path);
  mkdirSync(dir, { recursive: true });
  const tmp = join(dir, `.${basename(path)}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`);
  try {
    const fd = openSync(tmp, 'wx', mode);
    try {
      const bytes = Buffer.from(content);
      for (let off = 0; off < bytes.length; ) off += writeSync(fd, bytes, off);
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
    // link() never replaces an existing file; rename() replaces it atomically.
    if (exclusive) linkSync(tmp, path);
    else renameSync(tmp, path);
  } finally {
    rmSync(tmp, { force: true });
  }
  fsyncDir(dir);
}
