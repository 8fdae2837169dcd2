// fanout-10k: a forEach over 10,000 items (concurrency 200, body = one `core.echo` step) through the
// interpreter. Measures wall time, how many executions it took (parent + forEachBatch children,
// continue-as-new runs included), the largest history of any execution, and the worker's peak RSS
// (the worker runs in a child process: bench/worker-process.ts; the bench process's RSS is reported too).
//
// Baselines, both measured in the same run:
//  - the ratio: a direct in-process Promise pool calling the same activity handler (zod input and
//    output validation included) 10,000 times with the same concurrency. No Temporal at all: the
//    ratio is the overhead factor of durable execution, not a comparison with another engine.
//  - for reference: the raw Temporal throughput of this machine, a hand-written workflow calling the
//    same activity from one execution with the same concurrency, on REF_ITEMS items (a hand-written
//    single workflow over 10,000 items would exceed Temporal's limits, the very thing forEach avoids).
import { performance } from 'node:perf_hooks';
import proto from '@temporalio/proto';
import type { Client } from '@temporalio/client';
import type { CompiledDefinition } from '../workflows/dsl/compiled.ts';
import type { RunInput } from '../workflows/interpreter/run-input.ts';
import type { FanOutOutput } from '../workflows/interpreter/steps/for-each.ts';
import { planBatches } from '../workflows/interpreter/steps/for-each.ts';
import { loadCatalog } from '../activities/catalog.ts';
import type { ActivityContext } from '../activities/define.ts';
import type { ActivityOpts } from './workflows/hand-written.ts';
import { startChildWorker, ProcRssSampler, procStatusBytes } from './child-worker.ts';
import { ticketed } from './ticket.ts';
import { cpuMeter, describeCpu, extraDynamicConfig, machine, mb, median, ms, round, RssSampler, say, table, transitions, withTemporal, writeResult, type BenchResult, type CpuSplit } from './common.ts';

const { temporal } = proto;
const ITEMS = Number(process.env.BENCH_FANOUT_ITEMS ?? 10_000);
export const CONCURRENCY = 200;
const WARMUP_ITEMS = 1_000;
const REF_ITEMS = Number(process.env.BENCH_FANOUT_REF_ITEMS ?? 2_000);
export const EVENTS_PER_ITEM = 6; // the compiler's estimate for one activity step
const TARGET_RATIO = 'none (overhead factor vs. an in-process Promise pool, reported)';
export const MAX_EVENTS = 10_240;
export const MAX_RSS = 2 ** 30;
/** The fan-out worker's tuning (activity slots = the forEach concurrency). */
export const FANOUT_TUNING = { maxConcurrentActivityTaskExecutions: CONCURRENCY, maxConcurrentWorkflowTaskExecutions: 40, maxCachedWorkflows: 500 };
const retry = { maximumAttempts: 3, initialIntervalMs: 100 };
const timeouts = { startToCloseMs: 30_000 };

const eventName = (t: unknown) => (temporal.api.enums.v1.EventType[t as number] ?? String(t)).replace(/^EVENT_TYPE_/, '');

export function fanOutDefinition(): CompiledDefinition {
  return {
    apiVersion: 'cedille.etsmtl.ca/v1',
    kind: 'WorkflowDefinition',
    name: 'bench-fanout',
    hash: 'bench-fanout',
    dependencies: {},
    steps: [
      {
        kind: 'forEach',
        id: 'fan',
        items: '${{ inputs.items }}',
        as: 'item',
        concurrency: CONCURRENCY,
        onItemFailure: 'fail',
        eventsPerItem: EVENTS_PER_ITEM,
        steps: [{ kind: 'activity', id: 'echo', activity: 'core.echo', with: { value: '${{ item }}' }, retry, timeouts }],
      },
    ],
    // Per-item results are checked below; the default run output leaves them out past 1,000 items.
    output: { fan: '${{ steps.fan.output }}' },
  };
}

/** The same handler, called directly: validate input, run, validate output (what the worker wrapper does minus Temporal). */
async function promisePool(count: number, concurrency: number): Promise<number> {
  const echo = (await loadCatalog()).get('core.echo')!;
  const ctx: ActivityContext = {
    attempt: 1,
    idempotencyKey: 'bench',
    heartbeat: () => undefined,
    signal: new AbortController().signal,
    log: { info: () => undefined, warn: () => undefined },
  };
  const t0 = performance.now();
  let next = 0;
  let done = 0;
  const worker = async () => {
    while (next < count) {
      const i = next++;
      const input = echo.input.parse({ value: i });
      echo.output.parse(await echo.handler(input, { ...ctx, idempotencyKey: `bench/${i}` }));
      done++;
    }
  };
  await Promise.all(Array.from({ length: concurrency }, worker));
  if (done !== count) throw new Error(`promise pool did ${done} of ${count}`);
  return performance.now() - t0;
}

export interface Execution {
  workflowId: string;
  runId: string;
  type: string;
  events: number;
  history: Parameters<typeof transitions>[0];
}

/** Every execution whose workflow id starts with the parent's (children ids are `<parent>/<step>/r<round>/b<k>`). */
export async function executions(client: Client, parentId: string, expectAtLeast: number): Promise<Execution[]> {
  const query = `WorkflowId STARTS_WITH "${parentId}"`;
  let found: { workflowId: string; runId: string; type: string; closed: boolean }[] = [];
  const deadline = Date.now() + 30_000;
  // Visibility is eventually consistent: wait until it lists everything, closed.
  for (;;) {
    found = [];
    for await (const w of client.workflow.list({ query })) found.push({ workflowId: w.workflowId, runId: w.runId, type: w.type, closed: w.status.name !== 'RUNNING' });
    if ((found.length >= expectAtLeast && found.every((f) => f.closed)) || Date.now() > deadline) break;
    await new Promise((r) => setTimeout(r, 500));
  }
  const out: Execution[] = [];
  for (const f of found) {
    const h = await client.workflow.getHandle(f.workflowId, f.runId).fetchHistory();
    out.push({ workflowId: f.workflowId, runId: f.runId, type: f.type, events: h.events?.length ?? 0, history: (h.events ?? []) as never });
  }
  return out;
}

const cpuJson = (c: CpuSplit) => ({ wallMs: ms(c.wallMs), workerProcessMs: ms(c.workerMs ?? NaN), benchProcessMs: ms(c.selfMs), serverMs: ms(c.serverMs), otherProcessesMs: ms(c.othersMs), capacityMs: ms(c.capacityMs) });

export async function fanout10k(): Promise<BenchResult> {
  const items = Array.from({ length: ITEMS }, (_, i) => i);
  const plan = planBatches(ITEMS, CONCURRENCY, EVENTS_PER_ITEM);
  // startDevServer already lifts the per-namespace throttling (DEV_SERVER_DYNAMIC_CONFIG).
  const dynamicConfig = extraDynamicConfig();
  const tuning = FANOUT_TUNING;

  return withTemporal('fanout-10k', { dynamicConfig }, async ({ client, taskQueue, server }) => {
    // The worker runs in a process of its own: its RSS is then the worker's alone, not the bench
    // process's (which also bundles the workflow code and runs the client).
    const worker = await startChildWorker({ address: server.address, namespace: server.namespace, taskQueue, tuning });
    try {
      const def = fanOutDefinition();
      const run = async (id: string, list: number[]) => {
        const t0 = performance.now();
        const out = (await client.workflow.execute('interpret', { taskQueue, workflowId: id, args: [ticketed(id, { definition: def, input: { items: list } } satisfies RunInput)] })) as { fan: FanOutOutput };
        return { ms: performance.now() - t0, out: out.fan };
      };

      say(`fanout-10k: warm-up (interpreter ${WARMUP_ITEMS} items, promise pool)`);
      await run('bench-fanout-warmup', items.slice(0, WARMUP_ITEMS));
      await promisePool(ITEMS, CONCURRENCY);

      const poolRuns: number[] = [];
      for (let i = 0; i < 3; i++) poolRuns.push(await promisePool(ITEMS, CONCURRENCY));
      const poolMs = median(poolRuns);

      // The reference runs once before and once after the interpreter run (the machine may be shared:
      // bracketing it is the closest we get to alternating a 10,000-item run); the mean is used.
      const refOpts: ActivityOpts = { startToCloseMs: timeouts.startToCloseMs, retry };
      const refRuns: { ms: number; events: number; cpu: CpuSplit }[] = [];
      const reference = async (n: number) => {
        say(`fanout-10k: raw Temporal reference ${n}/2 (hand-written, one execution, ${REF_ITEMS} items, concurrency ${CONCURRENCY})`);
        const id = `bench-fanout-ref-${n}`;
        const cpu = cpuMeter(server.process.pid, worker.pid);
        const t0 = performance.now();
        await client.workflow.execute('handWrittenPool', { taskQueue, workflowId: id, args: [{ count: REF_ITEMS, concurrency: CONCURRENCY, opts: refOpts }] });
        const elapsed = performance.now() - t0;
        const split = cpu();
        refRuns.push({ ms: elapsed, events: (await client.workflow.getHandle(id).fetchHistory()).events?.length ?? 0, cpu: split });
      };
      await reference(1);

      say(`fanout-10k: interpreter forEach over ${ITEMS} items, concurrency ${CONCURRENCY}`);
      const parentId = 'bench-fanout-10k';
      const rss = new RssSampler(200); // the bench process, for information
      const workerRss = new ProcRssSampler(worker.pid, 200);
      const mainCpu = cpuMeter(server.process.pid, worker.pid);
      const main = await run(parentId, items);
      const mainSplit = mainCpu();
      const rssPeak = rss.stop();
      const workerRunPeak = workerRss.stop();
      await reference(2);
      // The kernel's high-water mark covers the worker's whole life (warm-up and references included)
      // and catches peaks between samples: it is the figure held against the target.
      const workerHwm = procStatusBytes(worker.pid, 'VmHWM');
      const workerPeak = Number.isNaN(workerHwm) ? workerRunPeak : Math.max(workerHwm, workerRunPeak);
      const refMs = (refRuns[0]!.ms + refRuns[1]!.ms) / 2;
      const refEvents = Math.max(refRuns[0]!.events, refRuns[1]!.events);
      if (main.out.total !== ITEMS || main.out.succeeded !== ITEMS) throw new Error(`fan-out incomplete: ${JSON.stringify({ ...main.out, results: undefined })}`);
      const wrong = main.out.results.findIndex((r, i) => r.index !== i || (r.output as { value: number }).value !== i);
      if (wrong >= 0) throw new Error(`fan-out result ${wrong} is wrong: ${JSON.stringify(main.out.results[wrong])}`);

      const execs = await executions(client, parentId, 1 + Math.ceil(ITEMS / (plan?.batchSize ?? ITEMS)));
      const children = execs.filter((e) => e.type === 'forEachBatch');
      const childIds = new Set(children.map((e) => e.workflowId));
      const maxExec = execs.reduce((a, b) => (b.events > a.events ? b : a));
      const parent = execs.find((e) => e.workflowId === parentId);

      // Where the time goes: server-side latencies summed over every child execution.
      const agg = new Map<string, { count: number; totalMs: number }>();
      for (const e of children) {
        for (const t of transitions(e.history, eventName)) {
          const k = `${t.from} -> ${t.to}`;
          const a = agg.get(k) ?? { count: 0, totalMs: 0 };
          a.count += t.count;
          a.totalMs += t.totalMs;
          agg.set(k, a);
        }
      }
      const latencyOf = (k: string) => {
        const a = agg.get(k);
        return a ? round(a.totalMs / a.count, 1) : undefined;
      };
      const eventTimes = (type: string) =>
        execs.flatMap((e) => e.history.filter((ev) => eventName(ev.eventType) === type).map((ev) => Number(ev.eventTime?.seconds ?? 0) * 1000 + (ev.eventTime?.nanos ?? 0) / 1e6));
      const countOf = (type: string) => eventTimes(type).length;
      const wftTimeouts = countOf('WORKFLOW_TASK_TIMED_OUT');
      const wftFailures = countOf('WORKFLOW_TASK_FAILED');
      const completions = eventTimes('ACTIVITY_TASK_COMPLETED').sort((a, b) => a - b);
      let longestGap = 0;
      for (let i = 1; i < completions.length; i++) longestGap = Math.max(longestGap, completions[i]! - completions[i - 1]!);
      const wftCount = children.reduce((n, e) => n + e.history.filter((ev) => eventName(ev.eventType) === 'WORKFLOW_TASK_COMPLETED').length, 0);

      const ratio = main.ms / poolMs;
      const itemsPerSec = ITEMS / (main.ms / 1000);
      const refPerSec = REF_ITEMS / (refMs / 1000);
      const eventsOk = maxExec.events <= MAX_EVENTS;
      const rssOk = workerPeak < MAX_RSS;
      const m = machine();

      console.log(`\n=== fanout-10k  (cores: ${m.cores}, ${m.cpu}, node ${m.node})`);
      console.log(
        `sizes: ${ITEMS} items, concurrency ${CONCURRENCY}, body = 1 core.echo; plan: ${plan ? `${Math.ceil(ITEMS / plan.batchSize)} batches of ${plan.batchSize}, ${plan.parallelChildren} children in parallel x ${plan.concurrencyPerChild} items each` : 'inline'}; ` +
          `worker (own process, pid ${worker.pid}): ${tuning.maxConcurrentActivityTaskExecutions} activity slots, ${tuning.maxConcurrentWorkflowTaskExecutions} workflow-task slots\n`,
      );
      console.log(
        table(
          ['run', 'items', 'wall ms', 'items/s', 'executions', 'max events/execution', 'worker peak RSS MB'],
          [
            ['interpreter forEach (batched children)', ITEMS, ms(main.ms), round(itemsPerSec, 1), execs.length, maxExec.events, mb(workerRunPeak)],
            ['baseline: in-process Promise pool (median of 3)', ITEMS, ms(poolMs), round(ITEMS / (poolMs / 1000), 0), '-', '-', '-'],
            ...refRuns.map((r, i) => [`reference: hand-written, 1 execution (${i ? 'after' : 'before'})`, REF_ITEMS, ms(r.ms), round(REF_ITEMS / (r.ms / 1000), 1), 1, r.events, '-']),
          ],
        ),
      );
      console.log(
        `\nexecutions: ${execs.length} = 1 parent (${parent?.events ?? '?'} events) + ${children.length} forEachBatch runs over ${childIds.size} child ids ` +
          `(${children.length - childIds.size} continue-as-new); largest: ${maxExec.workflowId} (${maxExec.events} events)`,
      );
      console.log(
        `where the time goes (children, server timestamps): ${wftCount} workflow tasks for ${ITEMS} activities; ` +
          `mean WFT schedule->start ${latencyOf('WORKFLOW_TASK_SCHEDULED -> WORKFLOW_TASK_STARTED')} ms, start->complete ${latencyOf('WORKFLOW_TASK_STARTED -> WORKFLOW_TASK_COMPLETED')} ms, ` +
          `activity start->complete ${latencyOf('ACTIVITY_TASK_STARTED -> ACTIVITY_TASK_COMPLETED')} ms; ` +
          `workflow task timeouts ${wftTimeouts}, failures ${wftFailures}; longest pause with no activity completing ${ms(longestGap)} ms`,
      );
      console.log(`interpreter run: ${describeCpu(mainSplit)}`);
      refRuns.forEach((r, i) => console.log(`reference run ${i + 1}: ${describeCpu(r.cpu)}`));
      console.log(`\nratio wall(interpreter)/wall(Promise pool) = ${round(ratio, 1)}  (overhead factor of durable execution; no target, reported)`);
      console.log(`interpreter items/s vs raw Temporal items/s (hand-written, 1 execution, mean of before/after) = ${round(itemsPerSec / refPerSec, 2)}`);
      console.log(`max history events in one execution = ${maxExec.events}  target <= ${MAX_EVENTS}  ${eventsOk ? 'PASS' : 'MISS'}`);
      console.log(
        `worker process peak RSS = ${mb(workerPeak)} MB (VmHWM over its whole life ${mb(workerHwm)} MB; VmRSS every 200 ms during the interpreter run: ` +
          `peak ${mb(workerRunPeak)} MB, at start ${mb(workerRss.start)} MB)  target < 1024 MB  ${rssOk ? 'PASS' : 'MISS'}`,
      );
      console.log(
        `bench process (client + the bundled workflow code; no worker) peak RSS during the interpreter run = ${mb(rssPeak)} MB ` +
          `(at start ${mb(rss.start)} MB; at peak: heap ${mb(rss.atPeak.heapUsed)} MB, external ${mb(rss.atPeak.external)} MB)  for information`,
      );

      const result: BenchResult = {
        name: 'fanout-10k',
        date: new Date().toISOString(),
        cores: m.cores,
        sizes: { items: ITEMS, concurrency: CONCURRENCY, referenceItems: REF_ITEMS, warmupItems: WARMUP_ITEMS, plan, tuning },
        measurements: {
          interpreterMs: ms(main.ms),
          interpreterItemsPerSec: round(itemsPerSec, 1),
          promisePoolMs: poolRuns.map(ms),
          promisePoolMedianMs: ms(poolMs),
          referenceHandWrittenMs: refRuns.map((r) => ms(r.ms)),
          referenceMeanMs: ms(refMs),
          referenceItemsPerSec: round(refPerSec, 1),
          referenceEvents: refEvents,
          interpreterVsReferenceThroughput: round(itemsPerSec / refPerSec, 3),
          executions: execs.length,
          childRuns: children.length,
          childIds: childIds.size,
          continueAsNewRuns: children.length - childIds.size,
          parentEvents: parent?.events,
          maxEvents: maxExec.events,
          maxEventsExecution: maxExec.workflowId,
          eventsPerExecution: execs.map((e) => e.events),
          workerRssPeakMb: mb(workerPeak),
          workerRssHwmMb: mb(workerHwm),
          workerRssRunPeakMb: mb(workerRunPeak),
          workerRssStartMb: mb(workerRss.start),
          workerRssTimelineMb: workerRss.timeline,
          benchProcessRssPeakMb: mb(rssPeak),
          benchProcessRssStartMb: mb(rss.start),
          benchProcessRssTimelineMb: rss.timeline,
          benchProcessMemoryAtPeakMb: Object.fromEntries(Object.entries(rss.atPeak).map(([k, v]) => [k, mb(v)])),
          childWorkflowTasks: wftCount,
          workflowTaskTimeouts: wftTimeouts,
          workflowTaskFailures: wftFailures,
          longestCompletionGapMs: ms(longestGap),
          cpu: { interpreter: cpuJson(mainSplit), reference: refRuns.map((r) => cpuJson(r.cpu)) },
          childLatenciesMs: {
            wftScheduleToStart: latencyOf('WORKFLOW_TASK_SCHEDULED -> WORKFLOW_TASK_STARTED'),
            wftStartToComplete: latencyOf('WORKFLOW_TASK_STARTED -> WORKFLOW_TASK_COMPLETED'),
            activityStartToComplete: latencyOf('ACTIVITY_TASK_STARTED -> ACTIVITY_TASK_COMPLETED'),
          },
        },
        ratio: round(ratio, 1),
        target: TARGET_RATIO,
        pass: eventsOk && rssOk,
        checks: [
          { name: 'max history events per execution', value: maxExec.events, target: `<= ${MAX_EVENTS}`, pass: eventsOk },
          { name: 'worker peak RSS MB', value: mb(workerPeak), target: '< 1024', pass: rssOk },
        ],
        notes: [
          'ratio = interpreter wall time / in-process Promise pool wall time (same handler, same concurrency, no Temporal): an overhead factor, not a target',
          `reference = a hand-written workflow running ${REF_ITEMS} activities in one execution (10,000 would exceed Temporal's per-execution limits)`,
        ],
      };
      console.log(`results: ${writeResult(result)}`);
      return result;
    } finally {
      await worker.stop();
    }
  });
}
