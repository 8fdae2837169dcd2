// production: what the dev server's figures mean on the production topology. The same two workloads
// run first on the dev-server setup of api-throughput and fanout-10k (Temporal dev server, one API
// process on its embedded database, one worker process on the bench bundle), then on the production
// topology (test/support/topology.ts: PostgreSQL, the real Temporal server on it, the platform database,
// 2 APIs = api/main.ts and 2 workers = worker/main.ts, each a process of its own):
//  - start throughput: `bench-start` registered through the API, then N starts through the API with 16
//    in flight, spread round-robin over the APIs; starts/s, p50/p95 latency; every run must complete.
//  - fan-out: fanout-10k's forEach (concurrency 200, one core.echo per item) started with a run ticket;
//    wall time, largest history of any execution, worker peak RSS.
// Ratios production/dev, with the core count: no target, reported.
import { Agent } from 'node:http';
import { randomUUID } from 'node:crypto';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import type { Client } from '@temporalio/client';
import { freePort } from '../infra/tools/temporal-dev-server.ts';
import { buildWorkflowBundle } from '../worker/bundle.ts';
import { startTopology, type Topology } from '../test/support/topology.ts';
import { planBatches, type FanOutOutput } from '../workflows/interpreter/steps/for-each.ts';
import type { RunInput } from '../workflows/interpreter/run-input.ts';
import { definitionText, percentile, pool, postJson, startApiProcess } from './api-throughput.ts';
import { CONCURRENCY as FANOUT_CONCURRENCY, EVENTS_PER_ITEM, executions, FANOUT_TUNING, fanOutDefinition, MAX_EVENTS, MAX_RSS } from './fanout-10k.ts';
import { procStatusBytes, ProcRssSampler, startChildWorker } from './child-worker.ts';
import { benchSigningKey, ticketed } from './ticket.ts';
import { machine, mb, median, ms, round, say, table, withTemporal, writeResult, type BenchResult } from './common.ts';

const STARTS = Number(process.env.BENCH_PRODUCTION_STARTS ?? 400);
const ROUNDS = 2;
const WARMUP_STARTS = 40;
const CONCURRENCY = Number(process.env.BENCH_API_CONCURRENCY ?? 16);
const ITEMS = Number(process.env.BENCH_PRODUCTION_ITEMS ?? 10_000);
const WARMUP_ITEMS = Math.min(1_000, ITEMS);
const APIS = 2;
const WORKERS = 2;
const RATE_LIMIT = '1000000'; // the API's per-caller limit on mutations would otherwise throttle the load
const TARGET = 'none (production/dev start throughput, reported)';

/** One environment under load: where its APIs are, its Temporal client, its worker processes. */
interface Side {
  client: Client;
  taskQueue: string;
  apiUrls: string[];
  admin: string;
  operator: string;
  workerPids: number[];
  /** Processes of the side that are not descendants of this one (counted with the bench's CPU). */
  extraRoots: number[];
}

interface Figures {
  startsPerSec: number;
  startRoundsPerSec: number[];
  startLatencyMs: { p50: number; p95: number };
  startedRuns: number;
  startCpu: CpuShare;
  fanoutMs: number;
  fanoutItemsPerSec: number;
  fanoutCpu: CpuShare;
  executions: number;
  maxEvents: number;
  workerRssPeakMb: number[];
  loadAverage: { before: number[]; after: number[] };
}

// ---- CPU: the bench's process trees (itself, Temporal, PostgreSQL and its backends, APIs, workers) vs. the rest of the machine.

interface CpuShare {
  wallMs: number;
  /** CPU ms of this process, the side's PostgreSQL and their descendants (children reaped meanwhile included). */
  benchTreeMs: number;
  /** CPU ms of every other process on the machine. */
  othersMs: number;
  /** cores x wall. */
  capacityMs: number;
}

const TICK_MS = 10; // USER_HZ = 100 on Linux

/** CPU ticks of the process trees rooted at this process and at `roots` (PostgreSQL's postmaster is daemonized: not our child). */
function treeTicks(roots: number[]): number {
  const parent = new Map<number, number>();
  const ticks = new Map<number, number>();
  for (const d of readdirSync('/proc')) {
    if (!/^\d+$/.test(d)) continue;
    try {
      const stat = readFileSync(`/proc/${d}/stat`, 'utf8');
      const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      parent.set(Number(d), Number(f[1]));
      // utime + stime + cutime + cstime: a reaped child's time moves to its parent's cutime.
      ticks.set(Number(d), Number(f[11]) + Number(f[12]) + Number(f[13]) + Number(f[14]));
    } catch {
      // gone meanwhile
    }
  }
  const ours = new Set([process.pid, ...roots]);
  const inTree = (pid: number) => {
    for (let p = pid, hops = 0; p > 1 && hops < 64; p = parent.get(p) ?? 0, hops++) if (ours.has(p)) return true;
    return false;
  };
  let total = 0;
  for (const [pid, t] of ticks) if (inTree(pid)) total += t;
  return total;
}

function machineBusyMs(): number {
  return cpus().reduce((sum, c) => sum + c.times.user + c.times.nice + c.times.sys + c.times.irq, 0);
}

function cpuShare(roots: number[]): () => CpuShare {
  const t0 = performance.now();
  const tree0 = treeTicks(roots);
  const busy0 = machineBusyMs();
  return () => {
    const wallMs = performance.now() - t0;
    const benchTreeMs = (treeTicks(roots) - tree0) * TICK_MS;
    return { wallMs: ms(wallMs), benchTreeMs: ms(benchTreeMs), othersMs: ms(Math.max(0, machineBusyMs() - busy0 - benchTreeMs)), capacityMs: ms(wallMs * cpus().length) };
  };
}

const pct = (x: number, c: CpuShare) => `${Math.round((100 * x) / c.capacityMs)}%`;
const describeShare = (c: CpuShare) => `bench processes ${pct(c.benchTreeMs, c)}, other processes ${pct(c.othersMs, c)} of ${cpus().length} cores over ${(c.wallMs / 1000).toFixed(1)} s`;
const load = () => loadavg().map((x) => round(x, 2));

// ---- the two workloads, the same on both sides

async function measureStarts(side: Side, agent: Agent): Promise<Pick<Figures, 'startsPerSec' | 'startRoundsPerSec' | 'startLatencyMs' | 'startedRuns' | 'startCpu'>> {
  await postJson(agent, side.apiUrls[0]!, '/v1/definitions', side.admin, { source: definitionText('bench-start') });
  const ids: string[] = [];
  const start = (i: number) =>
    postJson(agent, side.apiUrls[i % side.apiUrls.length]!, '/v1/runs', side.operator, { definition: 'bench-start', input: { n: i } }).then((r) => {
      ids.push(r.run!.id);
    });
  await pool(WARMUP_STARTS, CONCURRENCY, start);
  const rounds: Awaited<ReturnType<typeof pool>>[] = [];
  const cpu = cpuShare(side.extraRoots);
  for (let r = 0; r < ROUNDS; r++) rounds.push(await pool(STARTS, CONCURRENCY, start));
  const startCpu = cpu();
  // Only starts are timed; every run must still have been admitted and have run (a refused run fails).
  await pool(ids.length, 32, async (i) => {
    await side.client.workflow.getHandle(ids[i]!).result();
  });
  const rates = rounds.map((p) => STARTS / (p.wallMs / 1000));
  const latencies = rounds.flatMap((p) => p.latencies);
  return {
    startsPerSec: round(median(rates), 1),
    startRoundsPerSec: rates.map((x) => round(x, 1)),
    startLatencyMs: { p50: round(percentile(latencies, 50), 1), p95: round(percentile(latencies, 95), 1) },
    startedRuns: ids.length,
    startCpu,
  };
}

async function measureFanout(side: Side, label: string): Promise<Pick<Figures, 'fanoutMs' | 'fanoutItemsPerSec' | 'fanoutCpu' | 'executions' | 'maxEvents' | 'workerRssPeakMb'>> {
  const def = fanOutDefinition();
  const run = async (id: string, count: number) => {
    const input = { items: Array.from({ length: count }, (_, i) => i) };
    const t0 = performance.now();
    const out = (await side.client.workflow.execute('interpret', { taskQueue: side.taskQueue, workflowId: id, args: [ticketed(id, { definition: def, input } satisfies RunInput)] })) as { fan: FanOutOutput };
    const elapsed = performance.now() - t0;
    const wrong = out.fan.results.findIndex((r, i) => r.index !== i || (r.output as { value: number }).value !== i);
    if (out.fan.succeeded !== count || wrong >= 0) throw new Error(`${label} fan-out incomplete or wrong (succeeded ${out.fan.succeeded} of ${count}, first wrong result ${wrong})`);
    return elapsed;
  };
  say(`production: ${label} fan-out warm-up (${WARMUP_ITEMS} items)`);
  await run(`bench-production-warmup-${randomUUID()}`, WARMUP_ITEMS);
  say(`production: ${label} fan-out, ${ITEMS} items, concurrency ${FANOUT_CONCURRENCY}`);
  const parentId = `bench-production-fanout-${randomUUID()}`;
  const samplers = side.workerPids.map((pid) => new ProcRssSampler(pid, 200));
  const cpu = cpuShare(side.extraRoots);
  const wall = await run(parentId, ITEMS);
  const fanoutCpu = cpu();
  // The larger of the sampled peak and the kernel's high-water mark (whole life: the start phase too).
  const workerRssPeakMb = samplers.map((s) => {
    const hwm = procStatusBytes(s.pid, 'VmHWM');
    return mb(Math.max(s.stop(), Number.isNaN(hwm) ? 0 : hwm));
  });
  const plan = planBatches(ITEMS, FANOUT_CONCURRENCY, EVENTS_PER_ITEM);
  const execs = await executions(side.client, parentId, 1 + (plan ? Math.ceil(ITEMS / plan.batchSize) : 0));
  return {
    fanoutMs: ms(wall),
    fanoutItemsPerSec: round(ITEMS / (wall / 1000), 1),
    fanoutCpu,
    executions: execs.length,
    maxEvents: Math.max(...execs.map((e) => e.events)),
    workerRssPeakMb,
  };
}

async function measure(side: Side, label: string): Promise<Figures> {
  const agent = new Agent({ keepAlive: true, maxSockets: CONCURRENCY });
  try {
    const before = load();
    say(`production: ${label} starts, ${ROUNDS} rounds of ${STARTS} after ${WARMUP_STARTS} warm-up, ${CONCURRENCY} in flight over ${side.apiUrls.length} API(s)`);
    const starts = await measureStarts(side, agent);
    const fanout = await measureFanout(side, label);
    return { ...starts, ...fanout, loadAverage: { before, after: load() } };
  } finally {
    agent.destroy();
  }
}

// ---- the two sides

/** api-throughput's setup: dev server, one API process on its embedded database, one worker process (fanout-10k's tuning). */
async function devSide(): Promise<Figures> {
  return withTemporal('production-dev', {}, async ({ client, taskQueue, server }) => {
    const worker = await startChildWorker({ address: server.address, namespace: server.namespace, taskQueue, tuning: FANOUT_TUNING });
    const dataDir = mkdtempSync(join(tmpdir(), 'bench-production-'));
    const admin = `bench_admin_${randomUUID()}`;
    const operator = `bench_operator_${randomUUID()}`;
    const tokensFile = join(dataDir, 'tokens.json');
    writeFileSync(tokensFile, JSON.stringify([
      { token: admin, subject: 'bench-admin', roles: ['admin'], groups: [] },
      { token: operator, subject: 'bench-operator', roles: ['operator'], groups: [] },
    ]));
    try {
      const api = await startApiProcess(
        { TEMPORAL_ADDRESS: server.address, TEMPORAL_NAMESPACE: server.namespace, CEDILLE_TASK_QUEUE: taskQueue, CEDILLE_DATA_DIR: dataDir, CEDILLE_API_TOKENS_FILE: tokensFile, API_RATE_LIMIT_MAX: RATE_LIMIT, CEDILLE_LINK_SECRET: benchSigningKey() },
        await freePort(),
      );
      try {
        return await measure({ client, taskQueue, apiUrls: [api.url], admin, operator, workerPids: [worker.pid], extraRoots: [] }, 'dev server');
      } finally {
        await api.stop();
      }
    } finally {
      await worker.stop();
      rmSync(dataDir, { recursive: true, force: true });
    }
  });
}

/** The processes whose command line passes `match` (and, with `parent`, whose parent it is). */
function processes(match: (args: string[]) => boolean, parent?: number): number[] {
  const pids: number[] = [];
  for (const d of readdirSync('/proc')) {
    if (!/^\d+$/.test(d)) continue;
    try {
      const stat = readFileSync(`/proc/${d}/stat`, 'utf8');
      if (parent !== undefined && Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]) !== parent) continue;
      if (match(readFileSync(`/proc/${d}/cmdline`, 'utf8').split('\0'))) pids.push(Number(d));
    } catch {
      // gone meanwhile
    }
  }
  return pids;
}

/** The worker processes (worker/main.ts) this process started: their memory is read from /proc. */
const workerChildren = () => processes((args) => args.some((a) => a.endsWith('worker/main.ts')), process.pid);

/** The topology's PostgreSQL server (pg_ctl daemonizes it), found by its port. */
const postmasterOf = (port: number) => processes((args) => args[0]!.endsWith('/postgres') && args.some((a, i) => a === '-p' && args[i + 1] === String(port)));

async function productionSide(): Promise<Figures> {
  // Every worker takes one prebuilt bundle rather than bundling at start; the APIs' per-caller limit is lifted.
  const dir = mkdtempSync(join(tmpdir(), 'bench-production-bundle-'));
  const bundlePath = join(dir, 'workflow-bundle.js');
  writeFileSync(bundlePath, (await buildWorkflowBundle()).code);
  const saved = { bundle: process.env.CEDILLE_WORKFLOW_BUNDLE, rate: process.env.API_RATE_LIMIT_MAX };
  process.env.CEDILLE_WORKFLOW_BUNDLE = bundlePath;
  process.env.API_RATE_LIMIT_MAX = RATE_LIMIT;
  let topo: Topology | undefined;
  try {
    say(`production: starting the production topology (PostgreSQL, Temporal server, ${APIS} APIs, ${WORKERS} workers)`);
    topo = await startTopology({ apis: APIS, workers: WORKERS });
    restore('CEDILLE_WORKFLOW_BUNDLE', saved.bundle);
    restore('API_RATE_LIMIT_MAX', saved.rate);
    const workerPids = workerChildren();
    const postmaster = postmasterOf(topo.temporal.postgres.port);
    if (postmaster.length !== 1) throw new Error(`expected one PostgreSQL server on port ${topo.temporal.postgres.port}, found ${postmaster.length}`);
    if (workerPids.length !== WORKERS) throw new Error(`expected ${WORKERS} worker processes, found ${workerPids.length}`);
    return await measure(
      { client: topo.client, taskQueue: topo.taskQueue, apiUrls: topo.apis.map((a) => a.url), admin: topo.token('admin'), operator: topo.token('operator'), workerPids, extraRoots: postmaster },
      'production topology',
    );
  } finally {
    restore('CEDILLE_WORKFLOW_BUNDLE', saved.bundle);
    restore('API_RATE_LIMIT_MAX', saved.rate);
    await topo?.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

function restore(key: string, value: string | undefined): void {
  if (value === undefined) delete process.env[key];
  else process.env[key] = value;
}

// ---- report

export async function production(): Promise<BenchResult> {
  const dev = await devSide();
  const prod = await productionSide();
  const m = machine();
  const startsRatio = round(prod.startsPerSec / dev.startsPerSec);
  const fanoutRatio = round(prod.fanoutMs / dev.fanoutMs);
  const eventsOk = Math.max(dev.maxEvents, prod.maxEvents) <= MAX_EVENTS;
  const rssPeak = Math.max(...dev.workerRssPeakMb, ...prod.workerRssPeakMb);
  const rssOk = rssPeak < mb(MAX_RSS);
  const r = (a: number, b: number) => round(b / a, 2);

  console.log(`\n=== production  (cores: ${m.cores}, ${m.cpu}, ${m.memoryGb} GB, node ${m.node})`);
  console.log(
    `sizes: ${STARTS} starts per round, ${ROUNDS} rounds after ${WARMUP_STARTS} warm-up, ${CONCURRENCY} in flight; fan-out ${ITEMS} items (concurrency ${FANOUT_CONCURRENCY}, 1 core.echo each) after a ${WARMUP_ITEMS}-item warm-up\n` +
      `dev server: Temporal dev server, 1 API process (embedded database), 1 worker process (bench bundle, fanout-10k tuning)\n` +
      `production: PostgreSQL + Temporal server (infra/tools/temporal-server.ts), platform database, ${APIS} API processes (round-robin), ${WORKERS} worker processes (worker/main.ts, default tuning)\n`,
  );
  console.log(
    table(
      ['measure', 'dev server', 'production', 'production/dev'],
      [
        ['starts/s through the API (median of rounds)', dev.startsPerSec, prod.startsPerSec, startsRatio],
        ['start latency p50 ms', dev.startLatencyMs.p50, prod.startLatencyMs.p50, r(dev.startLatencyMs.p50, prod.startLatencyMs.p50)],
        ['start latency p95 ms', dev.startLatencyMs.p95, prod.startLatencyMs.p95, r(dev.startLatencyMs.p95, prod.startLatencyMs.p95)],
        [`fan-out ${ITEMS} items, wall ms`, dev.fanoutMs, prod.fanoutMs, fanoutRatio],
        ['fan-out items/s', dev.fanoutItemsPerSec, prod.fanoutItemsPerSec, r(dev.fanoutItemsPerSec, prod.fanoutItemsPerSec)],
        ['fan-out executions', dev.executions, prod.executions, '-'],
        ['max history events in one execution', dev.maxEvents, prod.maxEvents, '-'],
        ['worker peak RSS MB (each worker)', dev.workerRssPeakMb.join(' / '), prod.workerRssPeakMb.join(' / '), '-'],
      ],
    ),
  );
  for (const [label, f] of [['dev server', dev], ['production', prod]] as const) {
    console.log(`${label}: starts: ${describeShare(f.startCpu)}; fan-out: ${describeShare(f.fanoutCpu)}; load average before ${f.loadAverage.before.join(' ')}, after ${f.loadAverage.after.join(' ')}`);
  }
  console.log(`\nratio production/dev: start throughput ${startsRatio}, fan-out wall time ${fanoutRatio}  (${m.cores} cores; no target, reported)`);
  console.log(`max history events in one execution = ${Math.max(dev.maxEvents, prod.maxEvents)}  target <= ${MAX_EVENTS}  ${eventsOk ? 'PASS' : 'MISS'}`);
  console.log(`worker peak RSS = ${rssPeak} MB  target < 1024 MB  ${rssOk ? 'PASS' : 'MISS'}`);

  const result: BenchResult = {
    name: 'production',
    date: new Date().toISOString(),
    cores: m.cores,
    sizes: { starts: STARTS, rounds: ROUNDS, warmupStarts: WARMUP_STARTS, concurrency: CONCURRENCY, items: ITEMS, warmupItems: WARMUP_ITEMS, fanoutConcurrency: FANOUT_CONCURRENCY, apis: APIS, workers: WORKERS },
    measurements: { dev, production: prod, startsRatio, fanoutWallRatio: fanoutRatio },
    ratio: startsRatio,
    target: TARGET,
    pass: eventsOk && rssOk,
    checks: [
      { name: 'fan-out wall time production/dev', value: fanoutRatio, target: 'none, reported', pass: true },
      { name: 'max history events per execution (both sides)', value: Math.max(dev.maxEvents, prod.maxEvents), target: `<= ${MAX_EVENTS}`, pass: eventsOk },
      { name: 'worker peak RSS MB (both sides)', value: rssPeak, target: '< 1024', pass: rssOk },
    ],
    notes: [
      'ratio = production start throughput / dev-server start throughput, both through the API (starts/s); fan-out ratio = production wall time / dev-server wall time',
      'the two sides run one after the other in the same process; CPU shares and load averages say how busy the machine was meanwhile',
    ],
  };
  console.log(`results: ${writeResult(result)}`);
  return result;
}
