// Shared benchmark plumbing: a real Temporal dev server per benchmark, in-process workers on the
// bench bundle (interpreter + hand-written baselines), statistics, tables and result files.
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { performance } from 'node:perf_hooks';
import { cpus, totalmem } from 'node:os';
import { fileURLToPath } from 'node:url';
import { Client, Connection } from '@temporalio/client';
import { bundleWorkflowCode, DefaultLogger, NativeConnection, Runtime, type Worker } from '@temporalio/worker';
import { startDevServer, type DevServer, type DevServerOptions } from '../infra/tools/temporal-dev-server.ts';
import { createWorker, type CreateWorkerOptions } from '../worker/worker.ts';
import { dataConverterFromEnv } from '../codec/index.ts';

export const BENCH_WORKFLOWS = fileURLToPath(new URL('./workflows/index.ts', import.meta.url));
const RESULTS_DIR = fileURLToPath(new URL('./results/', import.meta.url));

let runtimeInstalled = false;
export function quietRuntime(): void {
  if (runtimeInstalled) return;
  runtimeInstalled = true;
  Runtime.install({ logger: new DefaultLogger(process.env.CEDILLE_BENCH_LOG === '1' ? 'INFO' : 'ERROR') });
}

const noop = () => undefined;
let bundle: Promise<{ code: string }> | undefined;
/** The bench bundle (the real workflows/index.ts re-exported plus bench/workflows/hand-written.ts), built once. */
export function benchBundle(): Promise<{ code: string }> {
  bundle ??= bundleWorkflowCode({
    workflowsPath: BENCH_WORKFLOWS,
    logger: { trace: noop, debug: noop, info: noop, warn: console.warn, error: console.error, log: noop },
  });
  return bundle;
}

export interface BenchEnv {
  server: DevServer;
  client: Client;
  taskQueue: string;
  startWorker(tuning?: CreateWorkerOptions['tuning']): Promise<{ worker: Worker; stop(): Promise<void> }>;
}

/** Runs `fn` against a fresh dev server (in-memory), stopping workers, connections and the server afterwards. */
export async function withTemporal<T>(name: string, serverOpts: DevServerOptions, fn: (env: BenchEnv) => Promise<T>): Promise<T> {
  quietRuntime();
  const code = await benchBundle();
  const server = await startDevServer(serverOpts);
  const connection = await Connection.connect({ address: server.address });
  // Workers encrypt when CEDILLE_CODEC_KEYS is set (codec/); the client must then decode the same way.
  const client = new Client({ connection, namespace: server.namespace, dataConverter: dataConverterFromEnv() });
  const natives: NativeConnection[] = [];
  const running: { worker: Worker; done: Promise<void> }[] = [];
  const taskQueue = `bench-${name}`;
  const env: BenchEnv = {
    server,
    client,
    taskQueue,
    async startWorker(tuning) {
      const native = await NativeConnection.connect({ address: server.address });
      natives.push(native);
      const worker = await createWorker({
        connection: native,
        namespace: server.namespace,
        taskQueue,
        workflowBundle: code,
        registry: { getByWorkflowType: () => undefined, getByHash: () => undefined, refresh: async () => undefined },
        ...(tuning ? { tuning } : {}),
      });
      const done = worker.run();
      const entry = { worker, done };
      running.push(entry);
      return {
        worker,
        async stop() {
          if (worker.getState() === 'RUNNING') worker.shutdown();
          await done;
        },
      };
    },
  };
  try {
    return await fn(env);
  } finally {
    for (const { worker, done } of running) {
      if (worker.getState() === 'RUNNING') worker.shutdown();
      await done.catch(() => undefined);
    }
    for (const n of natives) await n.close().catch(() => undefined);
    await connection.close().catch(() => undefined);
    await server.stop();
  }
}

/** Extra dev-server dynamic config from BENCH_DYNAMIC_CONFIG (comma-separated key=value), for experiments. */
export function extraDynamicConfig(): string[] {
  return (process.env.BENCH_DYNAMIC_CONFIG ?? '').split(',').filter(Boolean);
}

export function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}

export function min(xs: number[]): number {
  return Math.min(...xs);
}

export function max(xs: number[]): number {
  return Math.max(...xs);
}

/** Prints rows as an aligned text table. */
export function table(headers: string[], rows: (string | number)[][]): string {
  const cells = [headers, ...rows.map((r) => r.map(String))];
  const widths = headers.map((_, i) => Math.max(...cells.map((r) => (r[i] ?? '').length)));
  const line = (r: string[]) => r.map((c, i) => (i === 0 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join('  ');
  return [line(headers), widths.map((w) => '-'.repeat(w)).join('  '), ...rows.map((r) => line(r.map(String)))].join('\n');
}

export function machine(): { cores: number; cpu: string; memoryGb: number; node: string } {
  const c = cpus();
  return { cores: c.length, cpu: c[0]?.model ?? 'unknown', memoryGb: Math.round(totalmem() / 2 ** 30), node: process.version };
}

export interface BenchResult {
  name: string;
  date: string;
  cores: number;
  sizes: Record<string, unknown>;
  measurements: Record<string, unknown>;
  ratio: number;
  /** Human-readable, e.g. "<= 1.15". */
  target: string;
  pass: boolean;
  /** Secondary targets (history events, RSS...). */
  checks?: { name: string; value: number | string; target: string; pass: boolean }[];
  notes?: string[];
}

export function writeResult(result: BenchResult): string {
  mkdirSync(RESULTS_DIR, { recursive: true });
  const file = `${RESULTS_DIR}${result.name}.json`;
  writeFileSync(file, `${JSON.stringify({ ...result, machine: machine() }, null, 2)}\n`);
  return file;
}

/** Samples the process RSS every `everyMs` and keeps the peak. */
export class RssSampler {
  peak = process.memoryUsage().rss;
  readonly start = this.peak;
  private readonly timer: NodeJS.Timeout;
  constructor(everyMs = 200) {
    this.timer = setInterval(() => this.sample(), everyMs);
    this.timer.unref();
  }
  /** process.memoryUsage() at the peak (heap = main thread only; workflow threads and native memory are in rss). */
  atPeak: NodeJS.MemoryUsage = process.memoryUsage();
  /** RSS (MB) once a second, for the shape of the curve. */
  readonly timeline: number[] = [];
  private ticks = 0;
  sample(): void {
    const m = process.memoryUsage();
    if (this.ticks++ % 5 === 0) this.timeline.push(mb(m.rss));
    if (m.rss > this.peak) {
      this.peak = m.rss;
      this.atPeak = m;
    }
  }
  stop(): number {
    clearInterval(this.timer);
    this.sample();
    return this.peak;
  }
}

export const mb = (bytes: number) => Math.round((bytes / 2 ** 20) * 10) / 10;
export const ms = (n: number) => Math.round(n * 10) / 10;
export const round = (n: number, digits = 3) => Math.round(n * 10 ** digits) / 10 ** digits;

export function say(msg: string): void {
  process.stderr.write(`[bench] ${msg}\n`);
}

type HistoryEvent = { eventType?: unknown; eventTime?: { seconds?: unknown; nanos?: number | null } | null };

function eventMs(e: HistoryEvent): number {
  const t = e.eventTime;
  return Number(t?.seconds ?? 0) * 1000 + (t?.nanos ?? 0) / 1e6;
}

function shortType(t: unknown): string {
  return String(typeof t === 'number' ? t : t ?? '?').replace(/^EVENT_TYPE_/, '');
}

/**
 * Where the time goes in one execution: for each transition "event type A -> next event type B",
 * how often it happens and the mean time between the two events (server timestamps).
 */
export function transitions(events: HistoryEvent[], typeName: (t: unknown) => string = shortType): { from: string; to: string; count: number; meanMs: number; totalMs: number }[] {
  const acc = new Map<string, { count: number; total: number }>();
  for (let i = 1; i < events.length; i++) {
    const key = `${typeName(events[i - 1]!.eventType)} -> ${typeName(events[i]!.eventType)}`;
    const a = acc.get(key) ?? { count: 0, total: 0 };
    a.count++;
    a.total += eventMs(events[i]!) - eventMs(events[i - 1]!);
    acc.set(key, a);
  }
  return [...acc]
    .map(([k, a]) => {
      const [from, to] = k.split(' -> ') as [string, string];
      return { from, to, count: a.count, meanMs: a.total / a.count, totalMs: a.total };
    })
    .sort((x, y) => y.totalMs - x.totalMs);
}

// CPU accounting: this process (worker + client), the dev server, and everything else on the machine
// (other processes share the cores: a noisy neighbour shows up here, not in our numbers).
const TICK_MS = 10; // USER_HZ = 100 on Linux

function procTicks(pid: number): number {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return Number(fields[11]) + Number(fields[12]); // utime + stime
  } catch {
    return NaN;
  }
}

function machineTicks(): { busy: number; total: number } {
  try {
    const cpu = readFileSync('/proc/stat', 'utf8').split('\n')[0]!.trim().split(/\s+/).slice(1).map(Number);
    const idle = (cpu[3] ?? 0) + (cpu[4] ?? 0);
    const total = cpu.reduce((a, b) => a + b, 0);
    return { busy: total - idle, total };
  } catch {
    return { busy: NaN, total: NaN };
  }
}

export interface CpuSplit {
  wallMs: number;
  /** CPU ms used by this process (worker threads included). */
  selfMs: number;
  /** CPU ms used by the Temporal dev server. */
  serverMs: number;
  /** CPU ms used by a worker running in a process of its own (when one was given). */
  workerMs?: number;
  /** CPU ms used by every other process on the machine. */
  othersMs: number;
  /** Cores' worth of CPU available over the interval (cores x wall). */
  capacityMs: number;
}

/** CPU split from now on; `workerPid`: a worker in a child process, counted apart from this process. */
export function cpuMeter(serverPid: number | undefined, workerPid?: number): () => CpuSplit {
  const t0 = performance.now();
  const self0 = process.cpuUsage();
  const srv0 = serverPid ? procTicks(serverPid) : NaN;
  const wrk0 = workerPid ? procTicks(workerPid) : NaN;
  const m0 = machineTicks();
  return () => {
    const wallMs = performance.now() - t0;
    const self = process.cpuUsage(self0);
    const selfMs = (self.user + self.system) / 1000;
    const serverMs = ((serverPid ? procTicks(serverPid) : NaN) - srv0) * TICK_MS;
    const workerMs = workerPid ? (procTicks(workerPid) - wrk0) * TICK_MS : undefined;
    const m1 = machineTicks();
    const busyMs = (m1.busy - m0.busy) * TICK_MS;
    const othersMs = Math.max(0, busyMs - selfMs - serverMs - (workerMs ?? 0));
    return { wallMs, selfMs, serverMs, ...(workerMs !== undefined ? { workerMs } : {}), othersMs, capacityMs: wallMs * cpus().length };
  };
}

export function describeCpu(c: CpuSplit): string {
  const pct = (x: number) => `${Math.round((100 * x) / c.capacityMs)}%`;
  const mine =
    c.workerMs !== undefined
      ? `worker process ${(c.workerMs / 1000).toFixed(1)} s (${pct(c.workerMs)}), bench process (client) ${(c.selfMs / 1000).toFixed(1)} s (${pct(c.selfMs)})`
      : `worker+client ${(c.selfMs / 1000).toFixed(1)} s (${pct(c.selfMs)})`;
  return (
    `CPU over ${(c.wallMs / 1000).toFixed(1)} s on ${cpus().length} cores: ${mine}, ` +
    `temporal server ${(c.serverMs / 1000).toFixed(1)} s (${pct(c.serverMs)}), other processes ${(c.othersMs / 1000).toFixed(1)} s (${pct(c.othersMs)})`
  );
}
