// Verify and restore. Verification re-reads the stored object (pinned to the manifest's generation) and
// checks size and sha256: no key needed. Restore runs in two passes over the same immutable generation:
//   1. download -> sha256 -> decrypt -> gunzip -> tar listing: checks the checksum, every GCM tag, that no
//      entry escapes the target (absolute paths, `..`), and the manifest's counts — nothing is written;
//   2. download -> decrypt -> gunzip -> extract into the target (modes, mtimes, symlinks as symlinks).
// Two downloads rather than a local spool: the Job needs no scratch space as large as the object, and
// nothing touches the target until the whole object is known good. Pass 2 re-checks the tags and the hash.
import { mkdir } from 'node:fs/promises';
import { createGunzip } from 'node:zlib';
import { Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { performance } from 'node:perf_hooks';
import { Parser, extract as tarExtract, type ReadEntry } from 'tar';
import { DecryptStream } from './encryption.ts';
import { AgentError, IntegrityError, UsageError } from './errors.ts';
import { Gcs, GcsHttpError, type GcsOptions } from './gcs.ts';
import { VaultClient, type VaultOptions } from './keys.ts';
import { silentLogger, type Logger } from './log.ts';
import type { BackupManifest } from './manifest.ts';
import { Meter } from './streams.ts';

export interface VerifyOptions {
  bucket: string;
  /** Object name of the backup's manifest.json. */
  manifest: string;
  gcs: GcsOptions;
  log?: Logger;
}

export interface RestoreOptions extends VerifyOptions {
  target: string;
  vault: VaultOptions;
  /** Unwrap with this transit key / mount instead of the manifest's (key migrations). */
  transitKey?: string;
  transitMount?: string;
}

export interface VerifyResult {
  ok: true;
  bucket: string;
  object: string;
  generation?: string;
  storedBytes: number;
  sha256: string;
  durationMs: number;
}

export interface RestoreResult extends VerifyResult {
  target: string;
  fileCount: number;
  sizeBytes: number;
}

export async function loadManifest(gcs: Gcs, bucket: string, name: string): Promise<BackupManifest> {
  let text: string;
  try {
    text = (await gcs.download(bucket, name)).toString('utf8');
  } catch (err) {
    if (err instanceof GcsHttpError && err.status === 404) throw new AgentError(`manifest gs://${bucket}/${name} not found (no complete backup there)`);
    throw err;
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    throw new IntegrityError(`manifest gs://${bucket}/${name} is not JSON`);
  }
  // The schema (zod) is loaded only here: backups never need it.
  const { BackupManifest: schema } = await import('./manifest.ts');
  const parsed = schema.safeParse(json);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new IntegrityError(`manifest gs://${bucket}/${name} is invalid: ${issue?.path.join('.')}: ${issue?.message}`);
  }
  return parsed.data;
}

/** The data object, pinned to the generation the manifest recorded (a rewritten object is not that backup). */
async function dataStream(gcs: Gcs, bucket: string, manifest: BackupManifest) {
  try {
    return await gcs.downloadStream(bucket, manifest.object, manifest.generation);
  } catch (err) {
    if (err instanceof GcsHttpError && err.status === 404) {
      throw new IntegrityError(`gs://${bucket}/${manifest.object}${manifest.generation ? ` generation ${manifest.generation}` : ''} is gone (deleted or overwritten since the backup)`);
    }
    throw err;
  }
}

function checkStored(manifest: BackupManifest, meter: Meter): string {
  const sha256 = meter.digest();
  if (meter.bytes !== manifest.storedBytes) {
    throw new IntegrityError(`gs://${manifest.bucket}/${manifest.object}: ${meter.bytes} bytes, the manifest says ${manifest.storedBytes}`);
  }
  if (sha256 !== manifest.sha256) {
    throw new IntegrityError(`gs://${manifest.bucket}/${manifest.object}: sha256 ${sha256}, the manifest says ${manifest.sha256}`);
  }
  return sha256;
}

function wrapFailure(err: unknown, what: string): Error {
  if (err instanceof IntegrityError || err instanceof UsageError || err instanceof AgentError) return err;
  const e = err as Error & { code?: unknown };
  if (e.code === 404) return new AgentError(`${what}: object not found`);
  // zlib and tar failures after the GCM tags passed can only come from a corrupted archive.
  if (typeof e.code === 'string' && (e.code.startsWith('Z_') || e.code.startsWith('TAR_'))) return new IntegrityError(`${what}: ${e.message}`);
  return new AgentError(`${what}: ${e.message}`);
}

/** Re-reads the stored object and checks its size and sha256 against the manifest (no key needed). */
export async function verifyBackup(opts: VerifyOptions): Promise<VerifyResult> {
  const started = performance.now();
  const gcs = new Gcs(opts.gcs);
  const manifest = await loadManifest(gcs, opts.bucket, opts.manifest);
  const meter = new Meter({ sha256: true, gc: true });
  try {
    await pipeline(await dataStream(gcs, opts.bucket, manifest), meter, new Writable({ write: (_c, _e, done) => done() }));
  } catch (err) {
    throw wrapFailure(err, `reading gs://${opts.bucket}/${manifest.object}`);
  }
  const sha256 = checkStored(manifest, meter);
  (opts.log ?? silentLogger).info('verified', { object: manifest.object, storedBytes: meter.bytes });
  return {
    ok: true,
    bucket: opts.bucket,
    object: manifest.object,
    ...(manifest.generation ? { generation: manifest.generation } : {}),
    storedBytes: meter.bytes,
    sha256,
    durationMs: Math.round(performance.now() - started),
  };
}

/** `./a//b/` -> `a/b`. */
function normalize(p: string): string {
  return p.replace(/\\/g, '/').split('/').filter((x) => x !== '' && x !== '.').join('/');
}

/** True if an ancestor of `path` is a symbolic link of the archive (writing there would follow it). */
function underSymlink(path: string, links: Set<string>): boolean {
  const parts = path.split('/');
  for (let i = 1; i < parts.length; i++) if (links.has(parts.slice(0, i).join('/'))) return true;
  return false;
}

/** Refuses entry paths and hard-link targets that would land outside the target directory. */
function unsafePath(p: string): boolean {
  const norm = p.replace(/\\/g, '/');
  return norm.startsWith('/') || /^[A-Za-z]:/.test(norm) || norm.split('/').includes('..');
}

export async function runRestore(opts: RestoreOptions): Promise<RestoreResult> {
  const log = opts.log ?? silentLogger;
  const started = performance.now();
  const gcs = new Gcs(opts.gcs);
  const manifest = await loadManifest(gcs, opts.bucket, opts.manifest);
  const enc = manifest.encryption;
  const vault = await VaultClient.login(opts.vault);
  const key = await vault.unwrapDataKey(opts.transitMount ?? enc.transitMount, opts.transitKey ?? enc.transitKey, enc.wrappedKey);
  const where = `gs://${opts.bucket}/${manifest.object}`;
  try {
    // Pass 1: everything checked, nothing written.
    const meter = new Meter({ sha256: true, gc: true });
    let files = 0;
    let bytes = 0;
    const links = new Set<string>();
    const refuse = (why: string) => parser.abort(new IntegrityError(why));
    const parser = new Parser({
      onReadEntry: (entry: ReadEntry) => {
        const path = normalize(entry.path);
        if (unsafePath(entry.path)) refuse(`archive entry ${JSON.stringify(entry.path)} escapes the target`);
        else if (entry.type === 'Link' && unsafePath(entry.linkpath ?? '')) refuse(`hard link ${JSON.stringify(entry.path)} -> ${JSON.stringify(entry.linkpath)} escapes the target`);
        else if (underSymlink(path, links)) refuse(`archive entry ${JSON.stringify(entry.path)} would be written through a symbolic link`);
        if (entry.type === 'SymbolicLink') links.add(path);
        if (entry.type === 'File' || entry.type === 'OldFile' || entry.type === 'ContiguousFile') {
          files++;
          bytes += entry.size;
        }
        entry.resume();
      },
    });
    log.info('restore-check', { object: where, storedBytes: manifest.storedBytes });
    try {
      await pipeline(await dataStream(gcs, opts.bucket, manifest), meter, new DecryptStream(key, enc.chunkSize), createGunzip(), parser as unknown as NodeJS.WritableStream);
    } catch (err) {
      // A stored-object mismatch explains a failed tag better than the tag does.
      if (meter.writableFinished) checkStored(manifest, meter);
      throw err;
    }
    checkStored(manifest, meter);
    if (files !== manifest.fileCount || bytes !== manifest.sizeBytes) {
      throw new IntegrityError(`${where}: archive holds ${files} files / ${bytes} bytes, the manifest says ${manifest.fileCount} / ${manifest.sizeBytes}`);
    }

    // Pass 2: extract. Pass 1 has refused absolute, `..` and through-symlink paths, so node-tar's own path
    // rewriting is off (it would turn absolute symlink targets into relative ones). The process umask would
    // otherwise strip mode bits the backup recorded.
    log.info('restore-extract', { object: where, target: opts.target });
    await mkdir(opts.target, { recursive: true });
    const meter2 = new Meter({ sha256: true, gc: true });
    const oldUmask = process.umask(0);
    try {
      await pipeline(
        await dataStream(gcs, opts.bucket, manifest),
        meter2,
        new DecryptStream(key, enc.chunkSize),
        createGunzip(),
        tarExtract({ cwd: opts.target, strict: true, preservePaths: true, chmod: true, processUmask: 0, umask: 0, maxDepth: 4096 }) as unknown as NodeJS.WritableStream,
      );
    } finally {
      process.umask(oldUmask);
    }
    const sha256 = checkStored(manifest, meter2);
    log.info('restore-complete', { object: where, target: opts.target, files });
    return {
      ok: true,
      bucket: opts.bucket,
      object: manifest.object,
      ...(manifest.generation ? { generation: manifest.generation } : {}),
      storedBytes: meter2.bytes,
      sha256,
      durationMs: Math.round(performance.now() - started),
      target: opts.target,
      fileCount: files,
      sizeBytes: bytes,
    };
  } catch (err) {
    throw wrapFailure(err, `restoring ${where}`);
  } finally {
    key.fill(0);
  }
}
