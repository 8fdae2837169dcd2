// End to end: `npm start` as a user runs it, in its own process group like a terminal job, stopped
// with SIGINT like Ctrl-C. Once with TEMPORAL_ADDRESS (the test server: no dev server of its own),
// once embedded (its own dev server with UI and SQLite in a temp data dir, then restarted on it).
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { Client, Connection } from '@temporalio/client';
import { dataConverterFromEnv } from '../../codec/index.ts';
import { eventually } from '../support/temporal.ts';
import { npmStart as startStack, type StartedStack } from '../support/npm-start.ts';

const repo = join(import.meta.dirname, '..', '..');
const testServer = process.env.TEMPORAL_ADDRESS!;
assert.ok(testServer, 'TEMPORAL_ADDRESS comes from test/run.ts: npx tsx test/run.ts test/infra/start.test.ts');

/** `npm start` (test/support/npm-start.ts); `stop()` resolves to the exit code, asserting it stopped within 10 s. */
async function npmStart(env: NodeJS.ProcessEnv): Promise<StartedStack & { banner: string; stop(): Promise<number | null> }> {
  const app = await startStack([], env);
  return {
    ...app,
    banner: app.output(),
    async stop() {
      const { code, tookMs } = await app.interrupt();
      assert.ok(tookMs < 10_000, `took ${tookMs} ms to stop:\n${app.output()}`);
      return code;
    },
  };
}

/** Live processes whose process group or command line matches, after giving them 3 s to exit. */
async function leftovers(match: (pgrp: number, cmdline: string) => boolean): Promise<string[]> {
  for (let i = 0; i < 30 && processes(match).length; i++) await new Promise((r) => setTimeout(r, 100));
  return processes(match);
}

function processes(match: (pgrp: number, cmdline: string) => boolean): string[] {
  const found: string[] = [];
  for (const pid of readdirSync('/proc').filter((p) => /^\d+$/.test(p))) {
    try {
      const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
      const [state, , pgrp] = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      const cmdline = readFileSync(`/proc/${pid}/cmdline`, 'utf8').replaceAll('\0', ' ');
      if (state !== 'Z' && match(Number(pgrp), cmdline)) found.push(`${pid} ${cmdline}`);
    } catch {
      // the process ended while we looked
    }
  }
  return found;
}

describe('npm start against an existing Temporal (TEMPORAL_ADDRESS)', () => {
  it('prints URLs and tokens, serves /healthz, and stops on SIGINT with exit 0 and no leftovers', async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'cedille-start-'));
    const app = await npmStart({ TEMPORAL_ADDRESS: testServer, CEDILLE_DATA_DIR: dataDir, API_PORT: '0' });
    try {
      assert.equal(app.field('Temporal'), testServer);
      assert.match(app.banner, /Temporal UI +\(not managed here/);
      const tokens = JSON.parse(readFileSync(join(dataDir, 'dev-tokens.json'), 'utf8'));
      assert.equal(app.field('Admin token'), tokens.admin);
      assert.equal(app.field('Approver token'), tokens.approver);
      assert.ok(!existsSync(join(dataDir, 'temporal.sqlite')), 'started a dev server although TEMPORAL_ADDRESS is set');

      const api = app.field('API');
      const health = await fetch(`${api}/healthz`);
      assert.equal(health.status, 200);
      assert.equal((await fetch(`${api}/readyz`)).status, 200);
    } finally {
      assert.equal(await app.stop(), 0);
    }
    assert.deepEqual(await leftovers((pgrp) => pgrp === app.pid), []);
  });
});

interface RunBody {
  run: { id: string; temporalStatus: string; initiator?: string };
  graph: { nodes: { id: string; status: string; approval?: { decisions: { approver: string }[] } }[] } | null;
  failure?: unknown;
}

/**
 * A release-demo run started through the API (a run ticket signed with the API's key) and approved
 * through the API (an assertion signed with it) completes: the embedded worker verifies both with the
 * same key, the data dir's link-secret. A worker with another key refuses the run before its first step.
 */
async function approvedThroughTheApi(app: StartedStack): Promise<void> {
  const api = app.field('API');
  const call = async (token: string, method: string, path: string, body?: unknown) => {
    const res = await fetch(`${api}${path}`, {
      method,
      headers: { authorization: `Bearer ${token}`, ...(body !== undefined ? { 'content-type': 'application/json' } : {}) },
      ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
    });
    return { status: res.status, body: (await res.json()) as RunBody };
  };
  const admin = app.field('Admin token');
  const started = await call(admin, 'POST', '/v1/runs', { definition: 'release-demo', input: { version: '1.0.0', environments: ['staging'] } });
  assert.equal(started.status, 201, JSON.stringify(started.body));
  const id = started.body.run.id as string;
  const step = (body: RunBody, name: string) => body.graph?.nodes.find((n) => n.id === name);
  const waiting = await eventually(async () => {
    const { body } = await call(admin, 'GET', `/v1/runs/${id}`);
    // A refused ticket fails the run: say so rather than time out.
    if (body.run.temporalStatus === 'FAILED') assert.fail(`run ${id} failed: ${JSON.stringify(body.failure)}`);
    return step(body, 'approve')?.status === 'waiting' ? body : undefined;
  }, 60_000, 'the approval step waiting');
  assert.equal(waiting.run.initiator, 'dev-admin');
  const approved = await call(app.field('Approver token'), 'POST', `/v1/runs/${id}/steps/approve/approve`, {});
  assert.equal(approved.status, 200, JSON.stringify(approved.body));
  const done = await eventually(async () => {
    const { body } = await call(admin, 'GET', `/v1/runs/${id}`);
    return body.run.temporalStatus !== 'RUNNING' ? body : undefined;
  }, 60_000, 'the run closed');
  assert.equal(done.run.temporalStatus, 'COMPLETED', JSON.stringify(done.failure ?? done.run));
  assert.deepEqual(step(done, 'approve')?.approval?.decisions.map((d) => d.approver), ['dev-approver']);
}

describe('npm start: one signing key for the worker and the API', () => {
  // Without the check npm start would come up and never exit: the timeout turns that into a failure.
  it('refuses to start when the worker would use another signing key than the API (its notify config has its own)', { timeout: 90_000 }, async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'cedille-start-'));
    const notify = join(dataDir, 'notify.json');
    writeFileSync(notify, JSON.stringify({ linkSecret: 'a-notify-link-secret-that-is-not-the-apis-0123' }));
    const child = spawn('npm', ['start'], {
      cwd: repo,
      env: { ...process.env, TEMPORAL_ADDRESS: testServer, CEDILLE_DATA_DIR: dataDir, API_PORT: '0', CEDILLE_LINK_SECRET: '', CEDILLE_NOTIFY_CONFIG: notify },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.stdout.resume();
    const code = await new Promise<number | null>((resolve) => child.once('exit', resolve));
    assert.equal(code, 1, stderr);
    assert.match(stderr, /the worker would not use the API's signing key/);
    assert.doesNotMatch(stderr, /starting the worker/, 'refused before the worker started');
  });
});

describe('npm start embedded (no TEMPORAL_ADDRESS)', () => {
  it('runs a dev server with UI and SQLite in the data dir, keeps runs across a restart, leaves no temporal process', async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'cedille-start-'));
    // CEDILLE_CODEC_KEYS and CEDILLE_LINK_SECRET emptied: the test run's keys (test/run.ts) would
    // replace the data dir's dev key and signing key, which the worker must find as the API does.
    const env = { TEMPORAL_ADDRESS: '', TEMPORAL_NAMESPACE: '', CEDILLE_DATA_DIR: dataDir, API_PORT: '0', CEDILLE_CODEC_KEYS: '', CEDILLE_LINK_SECRET: '', CEDILLE_LINK_SECRET_FILE: '' };
    const ownServer = (_: number, cmdline: string) => cmdline.includes('start-dev') && cmdline.includes(dataDir);

    let app = await npmStart(env);
    const workflowId = `hello-${Date.now()}`;
    try {
      const ui = await fetch(app.field('Temporal UI'));
      assert.equal(ui.status, 200);
      assert.match(await ui.text(), /<html/i);
      assert.ok(existsSync(join(dataDir, 'temporal.sqlite')));
      assert.equal((await fetch(`${app.field('API')}/readyz`)).status, 200);

      const connection = await Connection.connect({ address: app.field('Temporal') });
      try {
        // npm start encrypts payloads with a dev key it keeps in the data dir: a client without it cannot read results.
        const dataConverter = dataConverterFromEnv({ CEDILLE_CODEC_KEYS: join(dataDir, 'codec-keys') });
        assert.ok(dataConverter, 'npm start wrote no codec key');
        await assert.rejects(
          new Client({ connection }).workflow.execute('helloWorld', { taskQueue: 'cedille-workflows', workflowId: `${workflowId}-plain`, args: [{ name: 'Ada' }] }),
          /Unknown encoding: binary\/encrypted/,
        );
        const client = new Client({ connection, dataConverter });
        await client.workflow.execute('helloWorld', { taskQueue: 'cedille-workflows', workflowId, args: [{ name: 'Ada' }] });
      } finally {
        await connection.close();
      }
      await approvedThroughTheApi(app);
    } finally {
      assert.equal(await app.stop(), 0);
    }
    assert.deepEqual(await leftovers(ownServer), []);
    const tokens = readFileSync(join(dataDir, 'dev-tokens.json'), 'utf8');

    app = await npmStart(env);
    try {
      assert.equal(readFileSync(join(dataDir, 'dev-tokens.json'), 'utf8'), tokens);
      const connection = await Connection.connect({ address: app.field('Temporal') });
      try {
        const described = await new Client({ connection }).workflow.getHandle(workflowId).describe();
        assert.equal(described.status.name, 'COMPLETED');
      } finally {
        await connection.close();
      }
    } finally {
      assert.equal(await app.stop(), 0);
    }
    assert.deepEqual(await leftovers(ownServer), []);
  });
});
