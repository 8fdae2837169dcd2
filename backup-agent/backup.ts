// Backup: tar (ustar/pax headers: symlinks, modes, owners, mtimes, empty directories) -> gzip in blocks ->
// AES-256-GCM chunks under a fresh data key -> sha256 + byte count -> resumable upload to
// `<prefix>/data.tar.gz.aes`; then `<prefix>/manifest.json`, written last. Node stream backpressure holds
// end to end, so memory stays flat whatever the volume size (bounded by the upload chunk and a few MiB).
import { stat } from 'node:fs/promises';
import { pipeline } from 'node:stream/promises';
import { performance } from 'node:perf_hooks';
import { create as tarCreate } from 'tar';
import type { Stats } from 'node:fs';
import { BlockGzip, DEFAULT_BLOCK_BYTES, DEFAULT_LEVEL } from './compression.ts';
import { DEFAULT_CHUNK_SIZE, EncryptStream } from './encryption.ts';
import { AgentError, IntegrityError, UsageError } from './errors.ts';
import { Gcs, uploadChunkBytes, type GcsOptions } from './gcs.ts';
import { VaultClient, type VaultOptions } from './keys.ts';
import { silentLogger, type Logger } from './log.ts';
import type { BackupManifest } from './manifest.ts';
import { ENCRYPTION_ALGORITHM, MANIFEST_API_VERSION, objectNames } from './names.ts';
import { Meter } from './streams.ts';
import { AGENT_VERSION } from './version.ts';

export interface BackupOptions {
  source: string;
  bucket: string;
  prefix: string;
  namespace: string;
  pvc: string;
  snapshot?: string;
  snapshotTime?: string;
  gcs: GcsOptions;
  vault: VaultOptions;
  transitKey: string;
  /** Transit mount (default `transit`). */
  transitMount?: string;
  /** gzip level 0..9 (default 1). */
  compressionLevel?: number;
  /** Resumable upload chunk in MiB (default 8; 0 = the whole object in one streaming request, no mid-object resume). */
  uploadChunkMiB?: number;
  /** Plaintext bytes per GCM chunk (default 1 MiB). */
  encryptionChunkBytes?: number;
  log?: Logger;
  progressEveryMs?: number;
}

export const DEFAULT_UPLOAD_CHUNK_MIB = 8;
const mb = (bytes: number) => Math.round(bytes / 2 ** 20);

interface TreeCounts {
  fileCount: number;
  directoryCount: number;
  symlinkCount: number;
  sizeBytes: number;
}

export async function runBackup(opts: BackupOptions): Promise<BackupManifest> {
  const log = opts.log ?? silentLogger;
  const started = performance.now();
  const createdAt = new Date().toISOString();
  const source = await stat(opts.source).catch(() => undefined);
  if (!source?.isDirectory()) throw new UsageError('--source', `${opts.source} is not a directory`);
  const mount = opts.transitMount ?? 'transit';
  const level = opts.compressionLevel ?? DEFAULT_LEVEL;
  const chunkSize = opts.encryptionChunkBytes ?? DEFAULT_CHUNK_SIZE;
  const names = objectNames(opts.prefix);

  const vault = await VaultClient.login(opts.vault);
  const key = await vault.newDataKey(mount, opts.transitKey);
  log.info('data-key', { transitKey: `${mount}/${opts.transitKey}`, keyVersion: key.keyVersion });

  const gcs = new Gcs(opts.gcs);
  const counts: TreeCounts = { fileCount: 0, directoryCount: 0, symlinkCount: 0, sizeBytes: 0 };
  const warnings: string[] = [];
  const seenInodes = new Set<string>();
  const pack = tarCreate(
    {
      cwd: opts.source,
      // Not node-tar's `portable`: it also clears group/other write bits (mode-fix), and owners (uid/gid)
      // matter on a volume (a database's files); atime/ctime never go in the headers anyway.
      portable: false,
      // Read files 512 KiB at a time (node-tar's default is 16 MiB per read).
      maxReadSize: 512 << 10,
      // Entries prepared ahead of the one being written (node-tar's default 4); the stream is sequential anyway.
      jobs: 2,
      filter: (_path: string, st: Stats | unknown) => {
        const s = st as Stats;
        if (s.isFile()) {
          // tar stores further names of a hard-linked file as links: count each inode once.
          if (s.nlink > 1) {
            const inode = `${s.dev}:${s.ino}`;
            if (seenInodes.has(inode)) return true;
            seenInodes.add(inode);
          }
          counts.fileCount++;
          counts.sizeBytes += s.size;
        } else if (s.isDirectory()) counts.directoryCount++;
        else if (s.isSymbolicLink()) counts.symlinkCount++;
        return true;
      },
      onwarn: (code: string, message: string | Error) => {
        const text = `${code}: ${message instanceof Error ? message.message : message}`;
        if (warnings.length < 100) warnings.push(text);
        log.error('tar-warning', { message: text });
      },
    },
    ['.'],
  );
  const tarMeter = new Meter({ gc: true });
  const stored = new Meter({ sha256: true });
  const progress = setInterval(
    () => {
      const m = process.memoryUsage();
      log.info('progress', {
        files: counts.fileCount, tarBytes: tarMeter.bytes, storedBytes: stored.bytes, seconds: Math.round((performance.now() - started) / 1000),
        rssMb: mb(m.rss), heapMb: mb(m.heapUsed), externalMb: mb(m.external), arrayBuffersMb: mb(m.arrayBuffers),
      });
    },
    opts.progressEveryMs ?? 10_000,
  );
  progress.unref();
  const chunkBytes = uploadChunkBytes(opts.uploadChunkMiB ?? DEFAULT_UPLOAD_CHUNK_MIB);
  const upload = gcs.resumableUpload(opts.bucket, names.data, {
    chunkBytes,
    metadata: { 'cedille-agent': AGENT_VERSION, 'cedille-namespace': opts.namespace, 'cedille-pvc': opts.pvc },
    onRetry: (why) => log.info('upload-retry', { object: names.data, why }),
  });
  log.info('upload-start', { object: `gs://${opts.bucket}/${names.data}`, uploadChunkBytes: chunkBytes, compressionLevel: level });
  try {
    await pipeline(
      pack,
      tarMeter,
      new BlockGzip(level, DEFAULT_BLOCK_BYTES),
      new EncryptStream(key.plaintext, chunkSize),
      stored,
      upload,
    );
  } catch (err) {
    if (err instanceof UsageError || err instanceof IntegrityError || err instanceof AgentError) throw err;
    throw new AgentError(`backup of ${opts.source} to gs://${opts.bucket}/${names.data} failed: ${(err as Error).message}`);
  } finally {
    clearInterval(progress);
    key.plaintext.fill(0);
  }
  const sha256 = stored.digest();
  const meta = upload.result ?? (await gcs.metadata(opts.bucket, names.data));
  if (Number(meta.size) !== stored.bytes) {
    throw new AgentError(`gs://${opts.bucket}/${names.data} holds ${meta.size} bytes, the agent sent ${stored.bytes}`);
  }

  const manifest: BackupManifest = {
    apiVersion: MANIFEST_API_VERSION as BackupManifest['apiVersion'],
    kind: 'BackupManifest' as const,
    namespace: opts.namespace,
    pvc: opts.pvc,
    ...(opts.snapshot ? { snapshotName: opts.snapshot } : {}),
    ...(opts.snapshotTime ? { snapshotTime: opts.snapshotTime } : {}),
    createdAt,
    completedAt: new Date().toISOString(),
    bucket: opts.bucket,
    object: names.data,
    ...(meta.generation !== undefined ? { generation: String(meta.generation) } : {}),
    storedBytes: stored.bytes,
    sha256,
    sizeBytes: counts.sizeBytes,
    tarBytes: tarMeter.bytes,
    fileCount: counts.fileCount,
    directoryCount: counts.directoryCount,
    symlinkCount: counts.symlinkCount,
    compression: { algorithm: 'gzip' as const, level, blockBytes: DEFAULT_BLOCK_BYTES },
    encryption: {
      algorithm: ENCRYPTION_ALGORITHM as BackupManifest['encryption']['algorithm'],
      chunkSize,
      keyProvider: 'vault-transit' as const,
      transitMount: mount,
      transitKey: opts.transitKey,
      keyVersion: key.keyVersion,
      keyId: `${mount}/${opts.transitKey}:v${key.keyVersion}`,
      wrappedKey: key.wrapped,
    },
    agentVersion: AGENT_VERSION,
    durationMs: Math.round(performance.now() - started),
  };
  await gcs.save(opts.bucket, names.manifest, `${JSON.stringify(manifest, null, 2)}\n`).catch((err: Error) => {
    throw new AgentError(`writing gs://${opts.bucket}/${names.manifest} failed: ${err.message}`);
  });
  log.info('backup-complete', { object: names.data, storedBytes: stored.bytes, files: counts.fileCount, warnings: warnings.length });
  return manifest;
}
