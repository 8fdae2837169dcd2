// The backup agent's failure paths, as processes against fake-gcs-server and OpenBao: a corrupted, truncated
// or rewritten object, a tampered or foreign wrapped key, an archive escaping its target, Vault or GCS
// unreachable, and GCS dropping every connection for a while in the middle of an upload.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { existsSync, readdirSync } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { Header } from 'tar';
import { BlockGzip } from '../../backup-agent/compression.ts';
import { EncryptStream, HEADER_BYTES, TAG_BYTES } from '../../backup-agent/encryption.ts';
import type { BackupManifest } from '../../backup-agent/manifest.ts';
import { backupArgs, freshBucket, gcsUrl, getObject, objectExists, putObject, randomContent, restoreArgs, runAgent, tempDir, transitKey, vaultEnv, verifyArgs } from './_agent-support.ts';
import { SimulatedGcsOutage } from './_simulated-gcs-outage.ts';

const scratch = tempDir('failures');
after(() => scratch.cleanup());

interface Backed {
  bucket: string;
  key: string;
  prefix: string;
  manifestName: string;
  manifest: BackupManifest;
}

let shared: Backed;
/** One backup (several encryption chunks) that the corruption tests copy and damage. */
before(async () => {
  const src = join(scratch.path, 'src');
  await mkdir(join(src, 'docs'), { recursive: true });
  await writeFile(join(src, 'docs/readme.txt'), 'club data\n'.repeat(1000));
  await writeFile(join(src, 'random.bin'), randomContent(3 << 20));
  const [bucket, key] = await Promise.all([freshBucket(), transitKey()]);
  const prefix = 'club-demo/data/base';
  const run = await runAgent(backupArgs({ source: src, bucket, prefix, transitKey: key }));
  assert.equal(run.code, 0, run.stderr);
  shared = { bucket, key, prefix, manifestName: `${prefix}/manifest.json`, manifest: run.result as unknown as BackupManifest };
});

/** Copies the shared backup under a new prefix with its data replaced by `data` (a new generation) and the manifest edited. */
async function damaged(tag: string, data: Buffer, edit: (m: BackupManifest) => void = () => undefined): Promise<string> {
  const prefix = `club-demo/data/${tag}`;
  const object = `${prefix}/data.tar.gz.aes`;
  const generation = await putObject(shared.bucket, object, data);
  const manifest: BackupManifest = { ...structuredClone(shared.manifest), object, generation };
  edit(manifest);
  await putObject(shared.bucket, `${prefix}/manifest.json`, JSON.stringify(manifest));
  return `${prefix}/manifest.json`;
}

function assertUntouched(target: string): void {
  assert.ok(!existsSync(target) || readdirSync(target).length === 0, `target ${target} was written to: ${existsSync(target) ? readdirSync(target).join(', ') : ''}`);
}

const sha = (b: Buffer) => createHash('sha256').update(b).digest('hex');

test('a flipped byte in the stored object: verify and restore exit 3, the target untouched', async () => {
  const data = await getObject(shared.bucket, shared.manifest.object);
  data[data.length >> 1] = data[data.length >> 1]! ^ 0x01;
  // The same object corrupted in place (bit rot): the manifest points at the damaged generation.
  const manifest = await damaged('flipped', data);
  const verify = await runAgent(verifyArgs(shared.bucket, manifest));
  assert.equal(verify.code, 3, verify.stderr);
  assert.match(verify.stderr, /sha256 [0-9a-f]{64}, the manifest says/);
  const target = join(scratch.path, 'flipped-target');
  const restore = await runAgent(restoreArgs(shared.bucket, manifest, target));
  assert.equal(restore.code, 3, restore.stderr);
  assertUntouched(target);
});

test('a truncated object is refused even when its manifest agrees (the last chunk was not sealed as last)', async () => {
  const data = await getObject(shared.bucket, shared.manifest.object);
  // Cut right after the first full chunk, and make the manifest's size and sha256 match the cut object.
  const cut = data.subarray(0, HEADER_BYTES + shared.manifest.encryption.chunkSize + TAG_BYTES);
  const plain = await damaged('truncated-plain', cut);
  const verify = await runAgent(verifyArgs(shared.bucket, plain));
  assert.equal(verify.code, 3, 'size mismatch against the real manifest');
  const consistent = await damaged('truncated', cut, (m) => {
    m.storedBytes = cut.length;
    m.sha256 = sha(cut);
  });
  assert.equal((await runAgent(verifyArgs(shared.bucket, consistent))).code, 0, 'verify only checks size + sha256');
  const target = join(scratch.path, 'truncated-target');
  const restore = await runAgent(restoreArgs(shared.bucket, consistent, target));
  assert.equal(restore.code, 3, restore.stderr);
  assert.match(restore.stderr, /failed authentication/);
  assertUntouched(target);
});

test('an object rewritten after the backup (other generation) is not that backup', async () => {
  const prefix = 'club-demo/data/rewritten';
  const data = await getObject(shared.bucket, shared.manifest.object);
  const generation = await putObject(shared.bucket, `${prefix}/data.tar.gz.aes`, data);
  await putObject(shared.bucket, `${prefix}/data.tar.gz.aes`, data); // a newer generation replaces it
  await putObject(shared.bucket, `${prefix}/manifest.json`, JSON.stringify({ ...shared.manifest, object: `${prefix}/data.tar.gz.aes`, generation }));
  const verify = await runAgent(verifyArgs(shared.bucket, `${prefix}/manifest.json`));
  assert.equal(verify.code, 3, verify.stderr);
  assert.match(verify.stderr, /is gone/);
});

test('a tampered wrapped key, or another transit key, is refused by Vault: exit 3, nothing extracted', async () => {
  const tampered = await damaged('tampered-key', await getObject(shared.bucket, shared.manifest.object), (m) => {
    const w = m.encryption.wrappedKey;
    const i = w.length - 6;
    m.encryption.wrappedKey = w.slice(0, i) + (w[i] === 'A' ? 'B' : 'A') + w.slice(i + 1);
  });
  const target = join(scratch.path, 'tampered-target');
  const r1 = await runAgent(restoreArgs(shared.bucket, tampered, target));
  assert.equal(r1.code, 3, r1.stderr);
  assert.match(r1.stderr, /Vault refused to unwrap the data key/);
  assertUntouched(target);

  const other = await transitKey();
  const r2 = await runAgent(restoreArgs(shared.bucket, shared.manifestName, target, ['--transit-key', other]));
  assert.equal(r2.code, 3, r2.stderr);
  assertUntouched(target);
});

/** Encrypts `tar` like the agent does, under a fresh transit data key, and stores it with a matching manifest. */
async function storeCrafted(tag: string, tar: Buffer): Promise<string> {
  const { addr, token } = vaultEnv();
  const res = await fetch(`${addr}/v1/transit/datakey/plaintext/${shared.key}`, { method: 'POST', headers: { 'X-Vault-Token': token }, body: '{}' });
  const dk = ((await res.json()) as { data: { plaintext: string; ciphertext: string } }).data;
  const parts: Buffer[] = [];
  await pipeline(Readable.from([tar]), new BlockGzip(1), new EncryptStream(Buffer.from(dk.plaintext, 'base64')), async (src: AsyncIterable<Buffer>) => {
    for await (const c of src) parts.push(c);
  });
  const data = Buffer.concat(parts);
  return damaged(tag, data, (m) => {
    m.storedBytes = data.length;
    m.sha256 = sha(data);
    m.encryption.wrappedKey = dk.ciphertext;
    m.fileCount = 1;
    m.sizeBytes = 5;
  });
}

function tarOf(entries: { path: string; type: 'File' | 'SymbolicLink'; body?: string; linkpath?: string }[]): Buffer {
  const blocks: Buffer[] = [];
  for (const e of entries) {
    const body = Buffer.from(e.body ?? '');
    const h = new Header({ path: e.path, type: e.type, mode: 0o644, size: body.length, mtime: new Date(), ...(e.linkpath ? { linkpath: e.linkpath } : {}) });
    const block = Buffer.alloc(512);
    h.encode(block);
    blocks.push(block, body, Buffer.alloc((512 - (body.length % 512)) % 512));
  }
  blocks.push(Buffer.alloc(1024));
  return Buffer.concat(blocks);
}

test('archives whose entries escape the target are refused before anything is written', async () => {
  for (const [tag, entries] of [
    ['dotdot', [{ path: '../escaped.txt', type: 'File' as const, body: 'owned' }]],
    ['absolute', [{ path: join(scratch.path, 'absolute-escape.txt'), type: 'File' as const, body: 'owned' }]],
    ['through-symlink', [{ path: 'out', type: 'SymbolicLink' as const, linkpath: scratch.path }, { path: 'out/through-link.txt', type: 'File' as const, body: 'owned' }]],
  ] as const) {
    const manifest = await storeCrafted(`crafted-${tag}`, tarOf([...entries]));
    const target = join(scratch.path, `crafted-${tag}-target`);
    const run = await runAgent(restoreArgs(shared.bucket, manifest, target));
    assert.equal(run.code, 3, `${tag}: ${run.stderr}`);
    assert.match(run.stderr, /escapes the target|through a symbolic link/);
    assertUntouched(target);
  }
  assert.ok(!existsSync(join(scratch.path, 'escaped.txt')) && !existsSync(join(scratch.path, 'absolute-escape.txt')) && !existsSync(join(scratch.path, 'through-link.txt')));
});

async function closedPort(): Promise<number> {
  const srv = createServer();
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
  const port = (srv.address() as { port: number }).port;
  await new Promise<void>((r) => srv.close(() => r()));
  return port;
}

test('Vault unreachable: a clear error, exit 1, nothing uploaded', async () => {
  const bucket = await freshBucket();
  const args = backupArgs({ source: join(scratch.path, 'src'), bucket, prefix: 'p/no-vault', transitKey: shared.key });
  args[args.indexOf('--vault-addr') + 1] = `http://127.0.0.1:${await closedPort()}`;
  const run = await runAgent(args);
  assert.equal(run.code, 1, run.stderr);
  assert.match(run.stderr, /Vault unreachable at http:\/\/127\.0\.0\.1:\d+ \(ECONNREFUSED\)/);
  assert.ok(run.allLogsJson);
  assert.equal(await objectExists(bucket, 'p/no-vault/data.tar.gz.aes'), false);
});

test('GCS unreachable past the retry budget: exit 1 naming the endpoint', async () => {
  const port = await closedPort();
  const args = backupArgs({ source: join(scratch.path, 'src'), bucket: 'agent-nowhere', prefix: 'p/x', transitKey: shared.key, extra: ['--gcs-retry-seconds', '2'] });
  args[args.indexOf('--gcs-endpoint') + 1] = `http://127.0.0.1:${port}`;
  const run = await runAgent(args);
  assert.equal(run.code, 1, run.stderr);
  assert.match(run.stderr, new RegExp(`GCS unreachable at http://127.0.0.1:${port}`));
});

test('GCS dropping every connection for 3 s mid-upload: chunks are retried, the backup completes intact', { timeout: 180_000 }, async () => {
  const src = join(scratch.path, 'outage-src');
  await mkdir(src);
  await writeFile(join(src, 'big.bin'), randomContent(24 << 20));
  const proxy = await new SimulatedGcsOutage(gcsUrl()).start();
  try {
    const bucket = await freshBucket();
    const args = backupArgs({ source: src, bucket, prefix: 'p/outage', transitKey: shared.key, extra: ['--upload-chunk-mib', '1'] });
    args[args.indexOf('--gcs-endpoint') + 1] = proxy.url;
    let dropped = false;
    const watch = setInterval(() => {
      if (!dropped && proxy.forwardedBytes > 6 << 20) {
        dropped = true;
        proxy.down(3000);
      }
    }, 20);
    const run = await runAgent(args);
    clearInterval(watch);
    assert.equal(run.code, 0, run.stderr);
    assert.ok(dropped && proxy.droppedConnections > 0, 'the outage happened mid-upload');
    assert.ok(run.logs.some((l) => l.event === 'upload-retry'), 'the agent retried');
    assert.ok(proxy.statusQueries > 0, 'it asked the server what it had before resending');
    const stored = await getObject(bucket, 'p/outage/data.tar.gz.aes');
    assert.equal(sha(stored), run.result?.sha256);
    const target = join(scratch.path, 'outage-target');
    const restore = await runAgent(restoreArgs(bucket, 'p/outage/manifest.json', target));
    assert.equal(restore.code, 0, restore.stderr);
  } finally {
    await proxy.stop();
  }
});
