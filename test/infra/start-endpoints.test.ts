// `npm start` when port 3000 is taken (issue 13 item 9): the API moves to another port, writes where it
// is to <data dir>/endpoints.json, the CLI finds it there without being told, and a restart asks for
// the same port again instead of a new random one.
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { runCli, show } from '../cli/_support.ts';
import { npmStart } from '../support/npm-start.ts';

const testServer = process.env.TEMPORAL_ADDRESS!;

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
      let app = await npmStart([], env);
      let api: string;
      try {
        api = app.field('API');
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
        assert.equal((await app.interrupt()).code, 0);
      }

      app = await npmStart([], env);
      try {
        assert.equal(app.field('API'), api, 'the port chosen last time is asked for again');
      } finally {
        assert.equal((await app.interrupt()).code, 0);
      }
    } finally {
      blocker?.close();
    }
  });
});
