// interpreter-50-steps: a compiled definition of 50 sequential `core.echo` steps, each step's input an
// expression over the previous step's output, run by `interpret`, against the same 50 activity calls
// in a hand-written TypeScript workflow (same activity, same options), on the same server and worker.
// Wall time start -> result, alternating runs after warm-ups; history events per step for both.
import { performance } from 'node:perf_hooks';
import type { Client } from '@temporalio/client';
import proto from '@temporalio/proto';
import { Worker } from '@temporalio/worker';
import type { CompiledDefinition, CompiledStep } from '../workflows/dsl/compiled.ts';
import type { RunInput } from '../workflows/interpreter/run-input.ts';
import type { ActivityOpts } from './workflows/hand-written.ts';
import { ticketed } from './ticket.ts';
import { benchBundle, cpuMeter, describeCpu, extraDynamicConfig, machine, median, min, max, ms, round, say, table, withTemporal, writeResult, type BenchResult } from './common.ts';

const { temporal } = proto;
const STEPS = 50;
const SHORT = 10;
const WARMUPS = 2;
const REPLAYS = 5;
const REPLAY_ROUNDS = 4;
const RUNS = Number(process.env.BENCH_RUNS ?? 10);
const TARGET = 1.15;
const retry = { maximumAttempts: 3, initialIntervalMs: 100 };
const timeouts = { startToCloseMs: 10_000 };

export function sequentialDefinition(steps: number): CompiledDefinition {
  const list: CompiledStep[] = Array.from({ length: steps }, (_, i) => ({
    kind: 'activity',
    id: `s${i}`,
    activity: 'core.echo',
    with: { value: i === 0 ? '${{ inputs.start }}' : `\${{ steps.s${i - 1}.output.value + 1 }}` },
    retry,
    timeouts,
  }));
  return { apiVersion: 'cedille.etsmtl.ca/v1', kind: 'WorkflowDefinition', name: `bench-seq-${steps}`, hash: `bench-seq-${steps}`, dependencies: {}, steps: list };
}

const handOpts: ActivityOpts = { startToCloseMs: timeouts.startToCloseMs, retry };

type Kind = 'interpreter' | 'hand-written';
let seq = 0;

async function runOnce(client: Client, taskQueue: string, kind: Kind, steps: number): Promise<{ ms: number; cpuMs: number; workflowId: string; output: unknown }> {
  const workflowId = `bench-50-${kind}-${steps}-${++seq}`;
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  const output =
    kind === 'interpreter'
      ? await client.workflow.execute('interpret', { taskQueue, workflowId, args: [ticketed(workflowId, { definition: sequentialDefinition(steps), input: { start: 1 } } satisfies RunInput)] })
      : await client.workflow.execute('handWrittenSequence', { taskQueue, workflowId, args: [{ steps, start: 1, opts: handOpts }] });
  const elapsed = performance.now() - t0;
  const cpu = process.cpuUsage(cpu0);
  return { ms: elapsed, cpuMs: (cpu.user + cpu.system) / 1000, workflowId, output };
}

const eventName = (t: unknown) => (temporal.api.enums.v1.EventType[t as number] ?? String(t)).replace(/^EVENT_TYPE_/, '');

async function history(client: Client, workflowId: string): Promise<{ length: number; types: Map<string, number>; raw: unknown }> {
  const h = await client.workflow.getHandle(workflowId).fetchHistory();
  const types = new Map<string, number>();
  for (const e of h.events ?? []) types.set(eventName(e.eventType), (types.get(eventName(e.eventType)) ?? 0) + 1);
  return { length: h.events?.length ?? 0, types, raw: h };
}

/** Event types the interpreter's history has more (or fewer) of than the hand-written one's. */
function typeDiff(a: Map<string, number>, b: Map<string, number>): Record<string, number> {
  const out: Record<string, number> = {};
  for (const k of new Set([...a.keys(), ...b.keys()])) {
    const d = (a.get(k) ?? 0) - (b.get(k) ?? 0);
    if (d) out[k] = d;
  }
  return out;
}

export async function interpreter50Steps(): Promise<BenchResult> {
  return withTemporal('interpreter-50-steps', { dynamicConfig: extraDynamicConfig() }, async ({ client, taskQueue, startWorker, server }) => {
    await startWorker();
    const kinds: Kind[] = ['interpreter', 'hand-written'];

    say(`interpreter-50-steps: ${WARMUPS} warm-up runs each`);
    for (let w = 0; w < WARMUPS; w++) for (const k of kinds) await runOnce(client, taskQueue, k, STEPS);

    // Same outputs: the two workflows do the same work.
    const a = await runOnce(client, taskQueue, 'interpreter', STEPS);
    const b = await runOnce(client, taskQueue, 'hand-written', STEPS);
    if (JSON.stringify(a.output) !== JSON.stringify(b.output)) throw new Error(`outputs differ:\n${JSON.stringify(a.output)}\n${JSON.stringify(b.output)}`);

    say(`interpreter-50-steps: ${RUNS} alternating runs each`);
    const times: Record<Kind, number[]> = { interpreter: [], 'hand-written': [] };
    const cpuTimes: Record<Kind, number[]> = { interpreter: [], 'hand-written': [] };
    const cpu = cpuMeter(server.process.pid);
    for (let r = 0; r < RUNS; r++) {
      const order = r % 2 ? [...kinds].reverse() : kinds;
      for (const k of order) {
        const r = await runOnce(client, taskQueue, k, STEPS);
        times[k].push(r.ms);
        cpuTimes[k].push(r.cpuMs);
      }
    }

    const split = cpu();

    // History: events of one 50-step and one 10-step run of each; the per-step slope must be equal,
    // the difference a constant (the interpreter's search-attribute upserts at start and end, and the
    // run admission's local activity: one marker per run start, whatever the number of steps).
    const events: Record<Kind, { long: number; short: number }> = { interpreter: { long: 0, short: 0 }, 'hand-written': { long: 0, short: 0 } };
    const types: Partial<Record<Kind, Map<string, number>>> = {};
    const raws: Partial<Record<Kind, { workflowId: string; history: unknown }>> = {};
    for (const k of kinds) {
      const { workflowId } = await runOnce(client, taskQueue, k, STEPS);
      const long = await history(client, workflowId);
      events[k].long = long.length;
      types[k] = long.types;
      raws[k] = { workflowId, history: long.raw };
      events[k].short = (await history(client, (await runOnce(client, taskQueue, k, SHORT)).workflowId)).length;
    }
    const extra = typeDiff(types.interpreter!, types['hand-written']!);
    // Replay: the workflow code's own CPU per run, without the server (noise-resistant).
    say(`interpreter-50-steps: replaying each ${STEPS}-step history ${REPLAYS} x ${REPLAY_ROUNDS} times`);
    const replay: Record<Kind, number[]> = { interpreter: [], 'hand-written': [] };
    const code = await benchBundle();
    for (let r = 0; r < REPLAY_ROUNDS + 1; r++) {
      for (const k of r % 2 ? [...kinds].reverse() : kinds) {
        const t0 = performance.now();
        const copies = Array.from({ length: REPLAYS }, () => raws[k]! as never);
        for await (const res of Worker.runReplayHistories({ workflowBundle: code, replayName: `bench-${k}` }, copies)) {
          if (res.error) throw new Error(`replay of ${k} failed: ${res.error.message}`);
        }
        if (r > 0) replay[k].push((performance.now() - t0) / REPLAYS); // round 0 is a warm-up
      }
    }
    const replayMed = { interpreter: median(replay.interpreter), 'hand-written': median(replay['hand-written']) };
    const replayRatio = replayMed.interpreter / replayMed['hand-written'];

    const slope = (k: Kind) => (events[k].long - events[k].short) / (STEPS - SHORT);

    const med = { interpreter: median(times.interpreter), 'hand-written': median(times['hand-written']) };
    const ratio = med.interpreter / med['hand-written'];
    const pass = ratio <= TARGET;
    const perStep = (k: Kind) => events[k].long / STEPS;
    const eventsEqual = slope('interpreter') === slope('hand-written');
    const m = machine();

    console.log(`\n=== interpreter-50-steps  (cores: ${m.cores}, ${m.cpu}, node ${m.node})`);
    console.log(`sizes: ${STEPS} sequential core.echo steps; ${WARMUPS} warm-ups, ${RUNS} alternating runs each; wall time = client start -> result\n`);
    console.log(
      table(
        ['workflow', 'median ms', 'min ms', 'max ms', 'ms/step', 'worker CPU ms/run', `events (${STEPS} steps)`, `events (${SHORT} steps)`, 'events/step', 'marginal events/step'],
        kinds.map((k) => [k, ms(med[k]), ms(min(times[k])), ms(max(times[k])), round(med[k] / STEPS, 2), ms(median(cpuTimes[k])), events[k].long, events[k].short, round(perStep(k), 2), round(slope(k), 2)]),
      ),
    );
    console.log(
      `replay (workflow code only, no server; median of ${REPLAY_ROUNDS} x ${REPLAYS}): interpreter ${ms(replayMed.interpreter)} ms, hand-written ${ms(replayMed['hand-written'])} ms per ${STEPS}-step history = ${round(replayRatio, 2)}x ` +
        `(+${ms((replayMed.interpreter - replayMed['hand-written']) / STEPS)} ms CPU per step)`,
    );
    console.log(`timed runs: ${describeCpu(split)}`);
    const diff = events.interpreter.long - events['hand-written'].long;
    console.log(`\nratio median(interpreter)/median(hand-written) = ${round(ratio)}  target <= ${TARGET}  ${pass ? 'PASS' : 'MISS'}`);
    console.log(
      `history: interpreter ${round(perStep('interpreter'), 2)} vs hand-written ${round(perStep('hand-written'), 2)} events/step; ` +
        `marginal ${round(slope('interpreter'), 2)} vs ${round(slope('hand-written'), 2)}; constant difference ${diff} events per run ` +
        `(${diff === events.interpreter.short - events['hand-written'].short ? 'same at 10 steps' : 'NOT constant'}: ${Object.entries(extra).map(([t, n]) => `${n > 0 ? '+' : ''}${n} ${t}`).join(', ')})  ${eventsEqual ? 'PASS' : 'MISS'}`,
    );

    const result: BenchResult = {
      name: 'interpreter-50-steps',
      date: new Date().toISOString(),
      cores: m.cores,
      sizes: { steps: STEPS, shortSteps: SHORT, warmups: WARMUPS, runs: RUNS },
      measurements: {
        wallMs: { interpreter: times.interpreter.map(ms), handWritten: times['hand-written'].map(ms) },
        workerCpuMsPerRun: { interpreter: cpuTimes.interpreter.map(ms), handWritten: cpuTimes['hand-written'].map(ms) },
        medianMs: { interpreter: ms(med.interpreter), handWritten: ms(med['hand-written']) },
        historyEvents: { interpreter: events.interpreter, handWritten: events['hand-written'] },
        eventsPerStep: { interpreter: perStep('interpreter'), handWritten: perStep('hand-written') },
        marginalEventsPerStep: { interpreter: slope('interpreter'), handWritten: slope('hand-written') },
        constantEventDifference: diff,
        extraEventTypes: extra,
        replayMsPerHistory: { interpreter: replay.interpreter.map(ms), handWritten: replay['hand-written'].map(ms) },
        replayMedianMs: { interpreter: ms(replayMed.interpreter), handWritten: ms(replayMed['hand-written']) },
        replayRatio: round(replayRatio),
        cpu: { wallMs: ms(split.wallMs), workerAndClientMs: ms(split.selfMs), serverMs: ms(split.serverMs), otherProcessesMs: ms(split.othersMs), capacityMs: ms(split.capacityMs) },
      },
      ratio: round(ratio),
      target: `<= ${TARGET}`,
      pass,
      checks: [{ name: 'marginal history events per step equal', value: `${slope('interpreter')} vs ${slope('hand-written')} (+${diff} constant)`, target: 'equal up to a constant', pass: eventsEqual }],
    };
    console.log(`results: ${writeResult(result)}`);
    return result;
  });
}
