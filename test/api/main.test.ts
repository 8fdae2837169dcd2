// api/main.ts as deployments run it: configured by the environment (its state in PostgreSQL when
// DATABASE_URL is set), stopped by SIGTERM.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import pg from 'pg';
import { testDatabase } from '../support/postgres.ts';
import { migrations } from '../../db/migrations/index.ts';

const repo = join(import.meta.dirname, '..', '..');

describe('api/main.ts', () => {
  it('listens on API_HOST/API_PORT, is ready against TEMPORAL_ADDRESS, and exits 0 on SIGTERM', async () => {
    const env = {
      ...process.env,
      API_HOST: '127.0.0.1',
      API_PORT: '0',
      CEDILLE_DATA_DIR: mkdtempSync(join(process.env.CEDILLE_TEST_SCRATCH ?? tmpdir(), 'cedille-api-')),
    };
    const child = spawn(process.execPath, ['--import', 'tsx', 'api/main.ts'], { cwd: repo, env, stdio: ['ignore', 'pipe', 'inherit'] });
    const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
    try {
      // Fastify logs one JSON line per event, among them "Server listening at <url>".
      const url = await new Promise<string>((resolve, reject) => {
        let out = '';
        child.stdout.on('data', (d: Buffer) => {
          out += d.toString();
          const m = /Server listening at (http:\/\/127\.0\.0\.1:\d+)/.exec(out);
          if (m) resolve(m[1]!);
        });
        child.once('exit', (code) => reject(new Error(`api/main.ts exited with ${code}:\n${out}`)));
      });
      assert.equal((await fetch(`${url}/healthz`)).status, 200);
      assert.equal((await fetch(`${url}/readyz`)).status, 200);
    } finally {
      child.kill('SIGTERM');
    }
    assert.equal(await exited, 0);
  });

  it('with DATABASE_URL: migrates that PostgreSQL database at start-up and keeps nothing in the data dir; refuses to start when it is unreachable', async () => {
    const url = await testDatabase('cedille_api');
    const dataDir = mkdtempSync(join(tmpdir(), 'cedille-api-'));
    const child = spawn(process.execPath, ['--import', 'tsx', 'api/main.ts'], { cwd: repo, env: { ...process.env, API_HOST: '127.0.0.1', API_PORT: '0', CEDILLE_DATA_DIR: dataDir, DATABASE_URL: url }, stdio: ['ignore', 'pipe', 'inherit'] });
    const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
    try {
      await new Promise<void>((resolve, reject) => {
        let out = '';
        child.stdout.on('data', (d: Buffer) => {
          out += d.toString();
          if (/Server listening at/.test(out)) resolve();
        });
        child.once('exit', (code) => reject(new Error(`api/main.ts exited with ${code}:\n${out}`)));
      });
      const client = new pg.Client({ connectionString: url });
      await client.connect();
      try {
        assert.deepEqual((await client.query('select name from kysely_migration order by name')).rows.map((r: { name: string }) => r.name), Object.keys(migrations));
      } finally {
        await client.end();
      }
      assert.equal(existsSync(join(dataDir, 'db')), false, 'no embedded database beside it');
    } finally {
      child.kill('SIGTERM');
    }
    assert.equal(await exited, 0);

    const unreachable = spawn(process.execPath, ['--import', 'tsx', 'api/main.ts'], {
      cwd: repo,
      env: { ...process.env, API_HOST: '127.0.0.1', API_PORT: '0', CEDILLE_DATA_DIR: dataDir, DATABASE_URL: url.replace(/:\d+\//, ':1/') },
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    let err = '';
    unreachable.stderr.on('data', (d: Buffer) => (err += d.toString()));
    assert.notEqual(await new Promise<number | null>((resolve) => unreachable.once('exit', resolve)), 0);
    assert.match(err, /ECONNREFUSED/);
  });

  it('refuses to start on a non-loopback address without credentials, and warns loudly when CEDILLE_DEV_TOKENS=1 opts in', async () => {
    const base: NodeJS.ProcessEnv = { ...process.env, API_HOST: '0.0.0.0', API_PORT: '0' };
    delete base.CEDILLE_DEV_TOKENS;
    delete base.OIDC_ISSUER;
    delete base.CEDILLE_API_TOKENS_FILE;
    const refused = spawn(process.execPath, ['--import', 'tsx', 'api/main.ts'], { cwd: repo, env: { ...base, CEDILLE_DATA_DIR: mkdtempSync(join(process.env.CEDILLE_TEST_SCRATCH ?? tmpdir(), 'cedille-api-')) }, stdio: ['ignore', 'pipe', 'pipe'] });
    let err = '';
    refused.stderr.on('data', (d: Buffer) => (err += d.toString()));
    const code = await new Promise<number | null>((resolve) => refused.once('exit', resolve));
    assert.notEqual(code, 0);
    assert.match(err, /accept no credential: it listens on 0\.0\.0\.0.*CEDILLE_DEV_TOKENS=1/);

    const child = spawn(process.execPath, ['--import', 'tsx', 'api/main.ts'], {
      cwd: repo,
      env: { ...base, CEDILLE_DEV_TOKENS: '1', CEDILLE_DATA_DIR: mkdtempSync(join(process.env.CEDILLE_TEST_SCRATCH ?? tmpdir(), 'cedille-api-')) },
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    const exited = new Promise<number | null>((resolve) => child.once('exit', (c) => resolve(c)));
    try {
      const warning = await new Promise<string>((resolve, reject) => {
        let out = '';
        child.stdout.on('data', (d: Buffer) => {
          out += d.toString();
          const line = out.split('\n').find((l) => l.includes('CEDILLE_DEV_TOKENS=1'));
          if (line) resolve(line);
        });
        child.once('exit', (c) => reject(new Error(`api/main.ts exited with ${c}:\n${out}`)));
      });
      assert.equal(JSON.parse(warning).level, 40, 'logged as a warning');
      assert.match(warning, /NOT a loopback address/);
    } finally {
      child.kill('SIGTERM');
    }
    assert.equal(await exited, 0);
  });
});
