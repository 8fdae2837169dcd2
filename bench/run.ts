// `npm run bench [-- <name>...]`: runs the benchmarks (all by default), each against its own Temporal
// dev server and in-process worker, prints a table per benchmark and writes bench/results/<name>.json.
import { performance } from 'node:perf_hooks';
import { cpus } from 'node:os';
import type { BenchResult } from './common.ts';
import { interpreter50Steps } from './interpreter-50-steps.ts';
import { fanout10k } from './fanout-10k.ts';
import { apiThroughput } from './api-throughput.ts';
import { workspaces } from './workspaces.ts';
import { backupAgent } from './backup-agent.ts';
import { production } from './production.ts';
import { ensureBenchSigningKey } from './ticket.ts';

const BENCHES: Record<string, () => Promise<BenchResult>> = {
  'interpreter-50-steps': interpreter50Steps,
  'fanout-10k': fanout10k,
  'api-throughput': apiThroughput,
  workspaces,
  'backup-agent': backupAgent,
  production,
};

const wanted = process.argv.slice(2).filter((a) => a !== '--');
const unknown = wanted.filter((n) => !(n in BENCHES));
if (unknown.length) {
  console.error(`unknown benchmark(s): ${unknown.join(', ')}; available: ${Object.keys(BENCHES).join(', ')}`);
  process.exit(2);
}
const names = wanted.length ? wanted : Object.keys(BENCHES);
// The platform signing key of the bench processes (client, workers, API), as test/run.ts does for
// tests: direct `interpret` starts carry run tickets signed with it (bench/ticket.ts).
ensureBenchSigningKey();

const t0 = performance.now();
const summary: BenchResult[] = [];
let failed = false;
for (const name of names) {
  try {
    summary.push(await BENCHES[name]!());
  } catch (err) {
    failed = true;
    console.error(`\n${name}: ERROR ${(err as Error).stack ?? err}`);
  }
}
console.log(`\n=== summary (${cpus().length} cores, ${Math.round((performance.now() - t0) / 1000)} s)`);
for (const r of summary) {
  const checks = (r.checks ?? []).map((c) => `; ${c.name}: ${c.value} (${c.target}) ${c.pass ? 'PASS' : 'MISS'}`).join('');
  console.log(`${r.name}: ratio ${r.ratio} (target ${r.target}) ${r.pass ? 'PASS' : 'MISS'}${checks}`);
}
process.exit(failed ? 1 : 0);
