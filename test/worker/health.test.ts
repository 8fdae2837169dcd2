// worker/main.ts as deployments run it, with CEDILLE_WORKER_HEALTH_PORT: the probes the manifests point
// at (live while it runs, ready only while Temporal answers) and its Prometheus metrics, the Temporal
// runtime's among them. Temporal is reached through a TCP proxy the test cuts and restores.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { join } from 'node:path';
import { after, it } from 'node:test';
import { tcpProxy } from '../kubernetes/_support.ts';
import { eventually } from '../support/temporal.ts';

const repo = join(import.meta.dirname, '..', '..');

const get = async (url: string) => {
  const res = await fetch(url, { signal: AbortSignal.timeout(10_000) });
  return { status: res.status, body: await res.text(), type: res.headers.get('content-type') ?? '' };
};

it('serves /healthz, /readyz (Temporal answering) and /metrics (runtime + process), and stops on SIGTERM', async () => {
  const temporal = process.env.TEMPORAL_ADDRESS!;
  const proxy = await tcpProxy(new URL(`http://${temporal}`));
  after(() => proxy.close());
  const child = spawn(process.execPath, ['--import', 'tsx', 'worker/main.ts'], {
    cwd: repo,
    env: {
      ...process.env,
      TEMPORAL_ADDRESS: new URL(proxy.url).host,
      CEDILLE_TASK_QUEUE: `health-${randomUUID()}`,
      CEDILLE_WORKER_HEALTH_PORT: '0',
      CEDILLE_WORKER_HEALTH_HOST: '127.0.0.1',
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  child.stdout.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr.on('data', (d: Buffer) => (out += d.toString()));
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  after(() => void (child.exitCode === null && child.kill('SIGKILL')));

  const base = await eventually(async () => /health and metrics on (http:\/\/127\.0\.0\.1:\d+)/.exec(out)?.[1], 60_000, `the worker's health URL (output: ${out})`);
  assert.deepEqual((await get(`${base}/healthz`)).status, 200);
  await eventually(async () => ((await get(`${base}/readyz`)).status === 200 ? true : undefined), 30_000, 'ready');

  const metrics = await get(`${base}/metrics`);
  assert.equal(metrics.status, 200);
  assert.match(metrics.type, /^text\/plain; version=0\.0\.4/);
  assert.match(metrics.body, /^cedille_worker_ready 1$/m);
  assert.match(metrics.body, /^cedille_worker_process_resident_memory_bytes \d+/m);
  // The Temporal runtime's own (core SDK) metrics, relayed from its exporter.
  assert.match(metrics.body, /^temporal_\w+(\{[^}]*task_queue="health-[^"]+"[^}]*\})? \d/m);

  // Temporal unreachable: still alive (no restart), not ready; ready again once it answers.
  proxy.block(true);
  proxy.drop();
  await eventually(async () => ((await get(`${base}/readyz`)).status === 503 ? true : undefined), 30_000, 'not ready while Temporal is cut off');
  assert.equal((await get(`${base}/healthz`)).status, 200);
  proxy.block(false);
  await eventually(async () => ((await get(`${base}/readyz`)).status === 200 ? true : undefined), 60_000, 'ready again');

  assert.equal((await get(`${base}/nothing`)).status, 404);
  child.kill('SIGTERM');
  assert.equal(await exited, 0, out);
});
