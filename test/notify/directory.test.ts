// The approver directory maps each person to their identity-provider subject (issue 12): an entry
// without one, or two entries of one subject, stop loadNotifyConfig and the worker at start-up
// (worker/main.ts), naming the entry, before anything is sent or any run is picked up.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadNotifyConfig } from '../../activities/notify/config.ts';
import { SECRET } from './_config.ts';

const repo = join(import.meta.dirname, '..', '..');
const dir = mkdtempSync(join(tmpdir(), 'cedille-directory-'));

const EDITH = { id: 'edith', subject: 'edith-ets', name: 'Édith Tremblay', email: 'edith@ets.test', groups: ['ets-it', 'sre'] };
const ADA_WITHOUT_SUBJECT = { id: 'ada', name: 'Ada Lovelace', email: 'ada@cedille.test', groups: ['sre'] };

let files = 0;
function configFile(directory: object[]): string {
  const file = join(dir, `notify-${++files}.json`);
  writeFileSync(file, JSON.stringify({ directory, linkSecret: SECRET }));
  return file;
}

/** What each refused directory must say: the entry, by its id, and what is wrong with it. */
const REFUSED: [string, object[], RegExp][] = [
  ['an entry without a subject', [EDITH, ADA_WITHOUT_SUBJECT], /directory\.1 \(ada\)\.subject: required: the identity provider subject this person answers as/],
  ['an entry with an empty subject', [EDITH, { ...ADA_WITHOUT_SUBJECT, subject: '' }], /directory\.1 \(ada\)\.subject: required: the identity provider subject this person answers as/],
  ['two entries of one subject', [EDITH, { ...ADA_WITHOUT_SUBJECT, subject: EDITH.subject }], /directory: entry ada: subject edith-ets belongs to another entry/],
];

/** Runs worker/main.ts as deployments do; resolves with its exit code and output, or fails if it starts polling. */
function runWorkerMain(env: NodeJS.ProcessEnv): Promise<{ code: number | null; output: string }> {
  const child = spawn(process.execPath, ['--import', 'tsx', 'worker/main.ts'], { cwd: repo, env, stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  return new Promise((resolve, reject) => {
    const read = (d: Buffer) => {
      output += d.toString();
      // Started despite the directory: stop it and fail (the test must not hang on a running worker).
      if (output.includes('worker polling')) {
        child.kill('SIGTERM');
        reject(new Error(`worker/main.ts started with an invalid directory:\n${output}`));
      }
    };
    child.stdout.on('data', read);
    child.stderr.on('data', read);
    child.once('exit', (code) => resolve({ code, output }));
  });
}

describe('approver directory subjects', () => {
  it('loadNotifyConfig accepts one subject per entry, and refuses a missing, empty or shared subject naming the entry', () => {
    const ok = loadNotifyConfig({ CEDILLE_NOTIFY_CONFIG: configFile([EDITH, { ...ADA_WITHOUT_SUBJECT, subject: 'ada-sre' }]) });
    assert.deepEqual(ok?.directory.map((p) => [p.id, p.subject]), [['edith', 'edith-ets'], ['ada', 'ada-sre']]);
    for (const [what, directory, message] of REFUSED) {
      assert.throws(() => loadNotifyConfig({ CEDILLE_NOTIFY_CONFIG: configFile(directory) }), message, what);
    }
  });

  it('the worker refuses to start on such a directory, naming the entry', async () => {
    for (const [what, directory, message] of REFUSED) {
      const { code, output } = await runWorkerMain({ ...process.env, CEDILLE_NOTIFY_CONFIG: configFile(directory) });
      assert.notEqual(code, 0, `${what}: ${output}`);
      assert.match(output, message, what);
      assert.match(output, /CEDILLE_NOTIFY_CONFIG /, `${what}: names the setting`);
    }
  });
});
