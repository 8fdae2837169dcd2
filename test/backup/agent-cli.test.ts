// The agent's command line as the upload Job uses it: usage errors name the flag (exit 2), every flag
// can come from the environment, the result is the last stdout line and stderr is JSON lines.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { runAgent } from './_agent-support.ts';

const base = ['--bucket', 'club-backups', '--prefix', 'ns/pvc/1', '--namespace', 'ns', '--pvc', 'data', '--vault-addr', 'http://127.0.0.1:1', '--transit-key', 'k'];

async function usage(args: string[], flag: string, env: NodeJS.ProcessEnv = {}): Promise<void> {
  const run = await runAgent(args, { env });
  assert.equal(run.code, 2, `${args.join(' ')}: ${run.stderr}`);
  const failed = run.logs.find((l) => l.event === 'failed');
  assert.equal(failed?.flag, flag, run.stderr);
  assert.equal(run.stdout, '', 'nothing on stdout');
}

test('usage errors exit 2 and name the flag', async () => {
  await Promise.all([
    usage(['restore-all'], 'command'),
    usage(['backup', ...base], '--source'),
    usage(['backup', '--source', '/nonexistent/volume', ...base], '--source'),
    usage(['backup', '--source', '/tmp', ...base, '--snapshot-time', 'yesterday'], '--snapshot-time'),
    usage(['backup', '--source', '/tmp', ...base, '--compression-level', '12'], '--compression-level'),
    usage(['backup', '--source', '/tmp', ...base, '--frobnicate', 'x'], '--frobnicate'),
    usage(['backup', '--source', '/tmp', ...base, '--gcs-endpoint', 'localhost:4443'], '--gcs-endpoint'),
    usage(['backup', '--source', '/tmp', ...base.filter((a) => a !== '--transit-key' && a !== 'k')], '--transit-key'),
    usage(['backup', '--source', '/tmp', ...base, '--vault-jwt-file', '/tmp/jwt'], '--vault-role', { VAULT_TOKEN: '' }),
    usage(['backup', '--source', '/tmp', ...base], '--vault-token-file', { VAULT_TOKEN: '' }),
    usage(['verify', '--bucket', 'club-backups'], '--manifest'),
    usage(['verify', '--bucket', 'club-backups', '--manifest', 'm.json', '--target', '/tmp/x'], '--target'),
    usage(['restore', '--bucket', 'Not_A_Bucket', '--manifest', 'm', '--target', '/tmp/x'], '--bucket'),
  ]);
});

test('flags can come from BACKUP_* / VAULT_* variables (the flag wins)', async () => {
  await usage(['backup', '--source', '/tmp', ...base], '--compression-level', { BACKUP_COMPRESSION_LEVEL: 'max' });
  await usage(['backup', ...base], '--source', { BACKUP_SOURCE: '/nonexistent/from-env' });
  // Everything from the environment: it gets as far as Vault (closed port), so parsing accepted it.
  const run = await runAgent(['backup'], {
    env: {
      BACKUP_SOURCE: '/tmp', BACKUP_BUCKET: 'club-backups', BACKUP_PREFIX: 'ns/pvc/1', BACKUP_NAMESPACE: 'ns', BACKUP_PVC: 'data',
      BACKUP_TRANSIT_KEY: 'k', VAULT_ADDR: 'http://127.0.0.1:1', VAULT_TOKEN: 'token', BACKUP_SNAPSHOT_TIME: '2026-11-21T07:00:00-05:00',
    },
  });
  assert.equal(run.code, 1, run.stderr);
  assert.match(run.stderr, /Vault unreachable at http:\/\/127\.0\.0\.1:1/);
  assert.ok(run.allLogsJson, run.stderr);
});

test('--help prints the usage and exits 0', async () => {
  const run = await runAgent(['--help']);
  assert.equal(run.code, 0);
  assert.match(run.stdout, /backup-agent backup --source <dir>/);
});
