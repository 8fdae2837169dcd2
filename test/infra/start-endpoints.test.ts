// `npm start` when port 3000 is taken (issue 13 item 9): the API moves to another port, writes where it
// is to <data dir>/endpoints.json, the CLI finds it there without being told, and a restart asks for
// the same port again instead of a new random one.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { runCli, show } from '../cli/_support.ts';

const repo = join(import.meta.dirname, '..', '..');
const testServer = process.env.TEMPORAL_ADDRESS!;

/** `npm start` in its own process group; resolves once the banner printed the API's URL. */
async function npmStart(env: NodeJS.ProcessEnv): Promise<{ api: string; stop(): Promise<number | null> }> {
  const child = spawn('npm', ['start'], { cwd: repo, env: { ...process.env, ...env }, detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  child.stdout.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr.on('data', (d: Buffer) => (out += d.toString()));
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  const deadline = Date.now() + 120_000;
  while (!/Approver token .*\n/.test(out)) {
    if (child.exitCode !== null) assert.fail(`npm start exited with ${child.exitCode}:\n${out}`);
    if (Date.now() > deadline) {
      process.kill(-child.pid!, 'SIGKILL');
      assert.fail(`no start banner after 120 s:\n${out}`);
    }
    await new Promise((r) => setTimeout(r, 200));
  }
  const api = /^ {2}API {2,}(\S+)/m.exec(out)?.[1] ?? assert.fail(`no API in:\n${out}`);
  return {
    api,
    async stop() {
      process.kill(-child.pid!, 'SIGINT');
      const kill = setTimeout(() => process.kill(-child.pid!, 'SIGKILL'), 15_000);
      const code = await exited;
      clearTimeout(kill);
      return code;
    },
  };
}

/** Holds 127.0.0.1:3000 when it is free (when something else holds it, the situation is the same). */
function holdDefaultPort(): Promise<Server | undefined> {
  return new Promise((resolve) => {
    const srv = createServer();
    srv.once('error', () => resolve(undefined));
    srv.listen(3000, '127.0.0.1', () => resolve(srv));
  });
}

describe('npm start with the default API port taken', () => {
  it('the API moves, the CLI finds it through the data dir, and a restart keeps its port', { timeout: 300_000 }, async () => {
    assert.ok(testServer, 'TEMPORAL_ADDRESS comes from test/run.ts');
    const blocker = await holdDefaultPort();
    const dataDir = mkdtempSync(join(tmpdir(), 'cedille-endpoints-'));
    const env = { TEMPORAL_ADDRESS: testServer, CEDILLE_DATA_DIR: dataDir, API_PORT: '' };
    try {
      let app = await npmStart(env);
      let api: string;
      try {
        api = app.api;
        assert.notEqual(new URL(api).port, '3000');
        const endpoints = JSON.parse(readFileSync(join(dataDir, 'endpoints.json'), 'utf8'));
        assert.equal(endpoints.apiUrl, api);

        // No CEDILLE_API_URL, no config file: the CLI reads the running stack's URL from the data dir.
        const tokens = JSON.parse(readFileSync(join(dataDir, 'dev-tokens.json'), 'utf8'));
        const cliEnv = { CEDILLE_DATA_DIR: dataDir, CEDILLE_API_URL: undefined, CEDILLE_TOKEN: tokens.admin, XDG_CONFIG_HOME: mkdtempSync(join(tmpdir(), 'cedille-xdg-')) };
        const listed = await runCli(['runs', '-o', 'json'], cliEnv);
        assert.equal(listed.code, 0, show(listed));
        assert.ok(Array.isArray(JSON.parse(listed.stdout).runs));
      } finally {
        assert.equal(await app.stop(), 0);
      }

      app = await npmStart(env);
      try {
        assert.equal(app.api, api, 'the port chosen last time is asked for again');
      } finally {
        assert.equal(await app.stop(), 0);
      }
    } finally {
      blocker?.close();
    }
  });
});
