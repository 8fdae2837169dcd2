// The fan-out's worker as a child process (bench/worker-process.ts) and its memory read from
// /proc/<pid>/status: VmRSS sampled on an interval, VmHWM (the kernel's high-water mark) on demand.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { CreateWorkerOptions } from '../worker/worker.ts';
import { benchBundle, mb } from './common.ts';

const ENTRY = fileURLToPath(new URL('./worker-process.ts', import.meta.url));

/** A field of /proc/<pid>/status in bytes (VmRSS, VmHWM...), NaN once the process is gone. */
export function procStatusBytes(pid: number, field: 'VmRSS' | 'VmHWM'): number {
  try {
    const m = new RegExp(`^${field}:\\s+(\\d+) kB$`, 'm').exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Number(m[1]) * 1024 : NaN;
  } catch {
    return NaN;
  }
}

/** Samples another process's VmRSS every `everyMs` and keeps the peak and a once-a-second timeline. */
export class ProcRssSampler {
  peak: number;
  readonly start: number;
  readonly timeline: number[] = [];
  private ticks = 0;
  private readonly timer: NodeJS.Timeout;
  constructor(readonly pid: number, everyMs = 200) {
    this.start = this.peak = procStatusBytes(pid, 'VmRSS');
    this.timer = setInterval(() => this.sample(), everyMs);
    this.timer.unref();
  }
  sample(): void {
    const rss = procStatusBytes(this.pid, 'VmRSS');
    if (Number.isNaN(rss)) return;
    if (this.ticks++ % 5 === 0) this.timeline.push(mb(rss));
    if (rss > this.peak) this.peak = rss;
  }
  stop(): number {
    clearInterval(this.timer);
    this.sample();
    return this.peak;
  }
}

export interface ChildWorker {
  pid: number;
  /** Stops the worker (SIGTERM, SIGKILL after `graceMs`) and removes the bundle file. */
  stop(graceMs?: number): Promise<void>;
}

async function waitReady(child: ChildProcess, timeoutMs: number): Promise<void> {
  let out = '';
  let err = '';
  child.stderr!.on('data', (d: Buffer) => (err = (err + d.toString()).slice(-4000)));
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`worker process not ready after ${timeoutMs} ms: ${err}`)), timeoutMs);
    child.stdout!.on('data', (d: Buffer) => {
      out += d.toString();
      if (out.includes('ready\n')) {
        clearTimeout(timer);
        resolve();
      }
    });
    child.once('exit', (code, signal) => {
      clearTimeout(timer);
      reject(new Error(`worker process exited (${code ?? signal}) before it was ready: ${err}`));
    });
  });
}

/**
 * Starts bench/worker-process.ts on the bench bundle (written to a temp file) and waits for "ready".
 * `definitions`: serve the built-in definitions' workflow types (e.g. `classWorkspaces`); `env`: extra
 * environment of the worker (e.g. KUBECONFIG for the kubernetes.* activities).
 */
export async function startChildWorker(opts: {
  address: string;
  namespace: string;
  taskQueue: string;
  tuning: CreateWorkerOptions['tuning'];
  definitions?: boolean;
  env?: NodeJS.ProcessEnv;
}): Promise<ChildWorker> {
  const dir = mkdtempSync(join(tmpdir(), 'cedille-bench-'));
  const bundlePath = join(dir, 'workflow-bundle.js');
  writeFileSync(bundlePath, (await benchBundle()).code);
  const child = spawn(process.execPath, ['--import', 'tsx', ENTRY, opts.address, opts.namespace, opts.taskQueue, bundlePath, JSON.stringify(opts.tuning ?? {})], {
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, ...opts.env, ...(opts.definitions ? { CEDILLE_BENCH_DEFINITIONS: '1' } : {}) },
  });
  const exited = new Promise<void>((resolve) => child.once('close', () => resolve()));
  const stop = async (graceMs = 15_000) => {
    if (child.exitCode === null && child.signalCode === null) {
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
      await exited;
      clearTimeout(timer);
    }
    rmSync(dir, { recursive: true, force: true });
  };
  try {
    await waitReady(child, 60_000);
  } catch (err) {
    await stop(1_000);
    throw err;
  }
  return { pid: child.pid!, stop };
}
