// Compares the permissions a run as the worker's ServiceAccount used (CEDILLE_TEST_RBAC_USAGE_OUT) with
// the record the roles are held to (test/fixtures/worker-rbac-usage.json):
//   tsx test/support/check-rbac-usage.ts <record> <observed>
// Exits 1 when the run used a permission outside the record (a refusal an activity swallowed, or a new
// request: re-record and review the roles); lists the recorded ones this run did not use (a partial run,
// or a grant that may have become unused: re-record with all the suites of .ci/run to find out).
import { readFileSync } from 'node:fs';

const [recordFile, observedFile] = process.argv.slice(2);
if (!recordFile || !observedFile) {
  console.error('usage: tsx test/support/check-rbac-usage.ts <record.json> <observed.json>');
  process.exit(2);
}
const record = new Set(JSON.parse(readFileSync(recordFile, 'utf8')) as string[]);
const observed = new Set(JSON.parse(readFileSync(observedFile, 'utf8')) as string[]);
const outside = [...observed].filter((p) => !record.has(p));
const unseen = [...record].filter((p) => !observed.has(p));
if (unseen.length) console.log(`recorded, not used by this run (${unseen.length}):\n${unseen.map((p) => `  ${p}`).join('\n')}`);
if (outside.length) {
  console.error(`used by this run, outside ${recordFile} (${outside.length}):\n${outside.map((p) => `  ${p}`).join('\n')}`);
  process.exit(1);
}
console.log(`${observed.size} permissions used, all in ${recordFile}`);
