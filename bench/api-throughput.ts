// api-throughput: starting runs through the API (HTTP, auth, schema validation, input validation,
// audit) vs. the raw Temporal client starting the same workflow on the same server; start latency
// percentiles; and approval -> next step latency (API call to the next activity's start).
import { spawn } from 'node:child_process';
import { Agent, request as httpRequest } from 'node:http';
import { randomUUID } from 'node:crypto';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import proto from '@temporalio/proto';
import { loadCatalog } from '../activities/catalog.ts';
import { freePort } from '../infra/tools/temporal-dev-server.ts';
import { SEARCH_ATTRIBUTE_KEYS } from '../workflows/search-attributes.ts';
import { databaseDefinitionStore, DefinitionRegistry } from '../workflows/registry/index.ts';
import { openDatabase } from '../db/index.ts';
import type { RunInput } from '../workflows/interpreter/run-input.ts';
import { machine, median, round, say, table, withTemporal, writeResult, type BenchResult } from './common.ts';
import { startChildWorker } from './child-worker.ts';
import { benchSigningKey, ticketed } from './ticket.ts';

const STARTS = Number(process.env.BENCH_API_STARTS ?? 400);
const CONCURRENCY = Number(process.env.BENCH_API_CONCURRENCY ?? 16);
const APPROVALS = Number(process.env.BENCH_API_APPROVALS ?? 10);
const TARGET_RATIO = 0.8;
const TARGET_APPROVAL_MS = 1000;
const { EventType } = proto.temporal.api.enums.v1;

const API_MAIN = fileURLToPath(new URL('../api/main.ts', import.meta.url));

/** The API as deployed: its own process (api/main.ts), configured through the environment. */
export async function startApiProcess(env: Record<string, string>, port: number): Promise<{ url: string; stop(): Promise<void> }> {
  const child = spawn(process.execPath, ['--import', 'tsx', API_MAIN], { env: { ...process.env, ...env, API_HOST: '127.0.0.1', API_PORT: String(port), LOG_LEVEL: 'warn' }, stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr!.on('data', (d: Buffer) => (stderr = (stderr + d.toString()).slice(-4000)));
  const exited = new Promise<void>((resolve) => child.once('close', () => resolve()));
  const stop = async () => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
    await exited;
  };
  const url = `http://127.0.0.1:${port}`;
  for (const deadline = Date.now() + 60_000; ; ) {
    if (child.exitCode !== null) throw new Error(`API process exited: ${stderr}`);
    if (await fetch(`${url}/healthz`).then((r) => r.ok, () => false)) return { url, stop };
    if (Date.now() > deadline) {
      await stop();
      throw new Error(`API process not ready: ${stderr}`);
    }
    await new Promise((r) => setTimeout(r, 200));
  }
}

export const definitionText = (name: string) => readFileSync(fileURLToPath(new URL(`./definitions/${name}.yaml`, import.meta.url)), 'utf8');

export function percentile(xs: number[], p: number): number {
  const sorted = [...xs].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)] ?? NaN;
}

/** Runs `count` calls of `fn` with `concurrency` in flight; returns per-call latencies and the total wall time. */
export async function pool(count: number, concurrency: number, fn: (i: number) => Promise<void>): Promise<{ wallMs: number; latencies: number[] }> {
  const latencies: number[] = [];
  let next = 0;
  const t0 = performance.now();
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next < count) {
        const i = next++;
        const t = performance.now();
        await fn(i);
        latencies.push(performance.now() - t);
      }
    }),
  );
  return { wallMs: performance.now() - t0, latencies };
}

/** A JSON POST on a keep-alive agent (a lean load generator: the client's own cost does not count against the API). */
export function postJson(agent: Agent, url: string, path: string, token: string, body: unknown): Promise<{ run?: { id: string } }> {
  return new Promise((resolve, reject) => {
    const payload = JSON.stringify(body);
    const req = httpRequest(`${url}${path}`, { method: 'POST', agent, headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json', 'content-length': Buffer.byteLength(payload) } }, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (d: string) => (text += d));
      res.on('end', () => ((res.statusCode ?? 500) >= 300 ? reject(new Error(`POST ${path}: ${res.statusCode} ${text}`)) : resolve(JSON.parse(text))));
    });
    req.on('error', reject);
    req.end(payload);
  });
}

export async function apiThroughput(): Promise<BenchResult> {
  return withTemporal('api-throughput', {}, async ({ client, taskQueue, server }) => {
    // Worker and API each in a process of their own, as deployed; this process is only the two clients.
    const worker = await startChildWorker({ address: server.address, namespace: server.namespace, taskQueue, tuning: { maxConcurrentActivityTaskExecutions: 100 } });
    const dataDir = mkdtempSync(join(tmpdir(), 'bench-api-'));
    // Registered in the API's (embedded) database before the API process opens it.
    const database = await openDatabase({ dataDir });
    const registry = await DefinitionRegistry.load({ catalog: await loadCatalog(), store: databaseDefinitionStore(database.db) });
    for (const name of ['bench-start', 'bench-approval']) {
      const r = await registry.register(definitionText(name), { file: `${name}.yaml` });
      if (!r.ok) throw new Error(`${name}: ${JSON.stringify(r.errors)}`);
    }
    await database.close();
    const operator = `bench_operator_${randomUUID()}`;
    const approver = `bench_approver_${randomUUID()}`;
    const tokensFile = join(dataDir, 'tokens.json');
    writeFileSync(tokensFile, JSON.stringify([
      { token: operator, subject: 'bench-operator', roles: ['operator'], groups: [] },
      { token: approver, subject: 'bench-approver', roles: [], groups: ['sre'] },
    ]));
    const api = await startApiProcess(
      // The API signs its starts with the key the worker (a child of this process) verifies them with.
      { TEMPORAL_ADDRESS: server.address, TEMPORAL_NAMESPACE: server.namespace, CEDILLE_TASK_QUEUE: taskQueue, CEDILLE_DATA_DIR: dataDir, CEDILLE_API_TOKENS_FILE: tokensFile, API_RATE_LIMIT_MAX: '1000000', CEDILLE_LINK_SECRET: benchSigningKey() },
      await freePort(),
    );
    const url = api.url;
    // A lean keep-alive HTTP client (like a load generator), so the client's own cost does not count against the API.
    const agent = new Agent({ keepAlive: true, maxSockets: CONCURRENCY });
    try {
      const post = (path: string, token: string, body: unknown) => postJson(agent, url, path, token, body);
      const definition = registry.get('bench-start')!;
      // The same start the API makes (memo, search attributes and run ticket included), minus HTTP, auth, validation and audit.
      const startRaw = (i: number) => {
        const workflowId = `raw-${randomUUID()}`;
        return client.workflow.start('interpret', {
          taskQueue,
          workflowId,
          args: [ticketed(workflowId, { definition, input: { n: i }, initiator: 'bench-operator' } satisfies RunInput)],
          memo: { initiator: 'bench-operator' },
          typedSearchAttributes: [
            { key: SEARCH_ATTRIBUTE_KEYS.definition, value: definition.name },
            { key: SEARCH_ATTRIBUTE_KEYS.hash, value: definition.hash },
            { key: SEARCH_ATTRIBUTE_KEYS.status, value: 'running' },
            { key: SEARCH_ATTRIBUTE_KEYS.initiator, value: 'bench-operator' },
          ],
        });
      };
      const raw = (i: number) => startRaw(i).then(() => undefined);
      const viaApi = (i: number) => post('/v1/runs', operator, { definition: 'bench-start', input: { n: i } }).then(() => undefined);

      say(`api-throughput: warm-up`);
      await pool(40, CONCURRENCY, raw);
      await pool(40, CONCURRENCY, viaApi);
      // Only starts are timed: check once that both kinds of start are admitted by the worker and run
      // (a refused run still counts as started; it fails with RunNotAdmitted on its first task).
      await (await startRaw(-1)).result();
      await client.workflow.getHandle((await post('/v1/runs', operator, { definition: 'bench-start', input: { n: -1 } })).run!.id).result();
      const rounds: { raw: Awaited<ReturnType<typeof pool>>; api: Awaited<ReturnType<typeof pool>> }[] = [];
      for (let r = 0; r < 2; r++) {
        say(`api-throughput: round ${r + 1}/2, ${STARTS} starts each, ${CONCURRENCY} in flight`);
        rounds.push({ raw: await pool(STARTS, CONCURRENCY, raw), api: await pool(STARTS, CONCURRENCY, viaApi) });
      }
      const rate = (p: { wallMs: number }) => STARTS / (p.wallMs / 1000);
      const rawRate = median(rounds.map((r) => rate(r.raw)));
      const apiRate = median(rounds.map((r) => rate(r.api)));
      const rawLat = rounds.flatMap((r) => r.raw.latencies);
      const apiLat = rounds.flatMap((r) => r.api.latencies);

      say(`api-throughput: approval -> next step, ${APPROVALS} runs`);
      const approvalMs: number[] = [];
      for (let i = 0; i < APPROVALS; i++) {
        const { run } = await post('/v1/runs', operator, { definition: 'bench-approval' });
        const handle = client.workflow.getHandle(run!.id);
        for (;;) {
          const g = (await (await fetch(`${url}/v1/runs/${run!.id}`, { headers: { authorization: `Bearer ${operator}` } })).json()) as { graph?: { nodes: { id: string; status: string }[] } };
          if (g.graph?.nodes.find((n) => n.id === 'review')?.status === 'waiting') break;
          await new Promise((r) => setTimeout(r, 20));
        }
        const sent = Date.now();
        await post(`/v1/runs/${run!.id}/steps/review/approve`, approver, { comment: 'bench' });
        await handle.result();
        const events = (await handle.fetchHistory()).events ?? [];
        // The next step's activity (not the approval's notification) started at:
        const scheduled = events.find((e) => e.activityTaskScheduledEventAttributes?.activityType?.name === 'core.echo');
        const started = events.find((e) => e.eventType === EventType.EVENT_TYPE_ACTIVITY_TASK_STARTED && String(e.activityTaskStartedEventAttributes?.scheduledEventId) === String(scheduled?.eventId));
        if (!started?.eventTime) throw new Error('the step after the approval never started');
        approvalMs.push(Number(started.eventTime.seconds) * 1000 + Math.round((started.eventTime.nanos ?? 0) / 1e6) - sent);
      }

      const ratio = round(apiRate / rawRate);
      const rows = [
        ['raw Temporal client', round(rawRate, 1), round(percentile(rawLat, 50), 1), round(percentile(rawLat, 99), 1)],
        ['API (HTTP + auth + validation + audit)', round(apiRate, 1), round(percentile(apiLat, 50), 1), round(percentile(apiLat, 99), 1)],
      ];
      console.log(`\n=== api-throughput  (cores: ${machine().cores}, ${machine().cpu}, node ${process.version})`);
      console.log(`sizes: ${STARTS} starts per side per round, 2 rounds after a warm-up, ${CONCURRENCY} in flight; ${APPROVALS} approvals`);
      console.log(table(['path', 'starts/s (median)', 'p50 ms', 'p99 ms'], rows));
      console.log(`approval -> next step started: p50 ${round(percentile(approvalMs, 50), 1)} ms, max ${round(Math.max(...approvalMs), 1)} ms (target < ${TARGET_APPROVAL_MS} ms)`);
      console.log(`ratio api/raw = ${ratio}  target >= ${TARGET_RATIO}  ${ratio >= TARGET_RATIO ? 'PASS' : 'MISS'}`);
      const approvalMax = Math.max(...approvalMs);
      const result: BenchResult = {
        name: 'api-throughput',
        date: new Date().toISOString(),
        cores: machine().cores,
        sizes: { starts: STARTS, concurrency: CONCURRENCY, rounds: 2, approvals: APPROVALS },
        measurements: {
          rawStartsPerSec: round(rawRate, 1),
          apiStartsPerSec: round(apiRate, 1),
          rawLatencyMs: { p50: round(percentile(rawLat, 50), 1), p99: round(percentile(rawLat, 99), 1) },
          apiLatencyMs: { p50: round(percentile(apiLat, 50), 1), p99: round(percentile(apiLat, 99), 1) },
          approvalToNextStepMs: approvalMs.map((x) => round(x, 1)),
        },
        ratio,
        target: `>= ${TARGET_RATIO}`,
        pass: ratio >= TARGET_RATIO,
        checks: [{ name: 'approval -> next step max ms', value: round(approvalMax, 1), target: `< ${TARGET_APPROVAL_MS}`, pass: approvalMax < TARGET_APPROVAL_MS }],
      };
      console.log(`results: ${writeResult(result)}`);
      return result;
    } finally {
      agent.destroy();
      await api.stop();
      await worker.stop();
    }
  });
}
