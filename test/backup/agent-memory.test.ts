// The agent's memory stays flat: its peak RSS (VmHWM of the process) backing up a 1 GB volume, with the
// default 8 MiB upload chunks, stays under 150 MB — the same budget the benchmark checks on 5 GB. It runs as
// in the Job: with Google's auth library loaded and a Workload Identity Federation file (local STS and IAM
// credentials peers, a projected token of the local cluster), every GCS request carrying a token.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { open, mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { kubeClients } from '../support/cluster.ts';
import { workloadCredentialFile } from '../support/gcp-credential-file.ts';
import { startGcpTokenPeers } from '../support/gcp-token-peers.ts';
import { gcsTokenGate } from '../support/gcs-token-gate.ts';
import { backupArgs, freshBucket, gcsUrl, randomContent, runAgent, tempDir, transitKey, verifyArgs } from './_agent-support.ts';

const MB = 1 << 20;

/** `files` files of 16 MiB: one in eight random (incompressible), the others log-like text. */
async function volume(dir: string, files: number): Promise<number> {
  const lines: string[] = [];
  for (let i = 0; lines.join('').length < MB; i++) lines.push(`2026-11-21T07:${String(i % 60).padStart(2, '0')}:00Z club-${i % 37} GET /api/v1/items/${i} 200 ${i % 97}ms\n`);
  const text = Buffer.from(lines.join('')).subarray(0, MB);
  let bytes = 0;
  for (let f = 0; f < files; f++) {
    const sub = join(dir, `d${f % 8}`);
    await mkdir(sub, { recursive: true });
    const fh = await open(join(sub, `f${f}.dat`), 'w');
    for (let i = 0; i < 16; i++) await fh.write(f % 8 === 0 ? randomContent(MB) : text);
    await fh.close();
    bytes += 16 * MB;
  }
  return bytes;
}

test('peak RSS of the agent backing up a 1 GB volume stays under 150 MB', { timeout: 240_000 }, async () => {
  const src = tempDir('memory');
  const k = kubeClients();
  const peers = await startGcpTokenPeers(k);
  const gate = await gcsTokenGate(gcsUrl(), (t) => peers.ownerOf(t));
  try {
    const cred = await workloadCredentialFile(k, peers, { dir: src.path, namespace: 'default', serviceAccount: 'cedille-backup', email: 'cedille-backup@cedille-test.iam.gserviceaccount.com' });
    const data = join(src.path, 'volume');
    const bytes = await volume(data, 64);
    const [bucket, key] = await Promise.all([freshBucket(), transitKey()]);
    const args = backupArgs({ source: data, bucket, prefix: 'mem/1g', transitKey: key }).map((a) => (a === gcsUrl() ? gate.url : a));
    const run = await runAgent(args, { env: { GOOGLE_APPLICATION_CREDENTIALS: cred.file } });
    assert.equal(run.code, 0, run.stderr);
    assert.ok(gate.seen.length > 0 && gate.seen.every((r) => r.owner), 'every GCS request carried a token');
    assert.equal(run.result?.sizeBytes, bytes);
    const peakMb = Math.round(run.vmHwmKb / 1024);
    process.stderr.write(`[agent] 1 GB volume: backup ${run.ms} ms, stored ${run.result?.storedBytes} B, VmHWM ${peakMb} MB\n`);
    assert.ok(run.vmHwmKb > 0 && peakMb < 150, `peak RSS ${peakMb} MB`);
    const verify = await runAgent(verifyArgs(bucket, 'mem/1g/manifest.json'));
    assert.equal(verify.code, 0, verify.stderr);
  } finally {
    await Promise.all([gate.close(), peers.close()]);
    src.cleanup();
  }
});
