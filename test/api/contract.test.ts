// The API against its own OpenAPI document: Schemathesis (PyPI, pinned in infra/tools/versions.ts)
// reads /docs/json of a listening API (with a worker, on the run's Temporal dev server) and sends
// schema-valid and schema-violating requests to every operation, then sequences linked operations
// (stateful phase: start a run then read, cancel it; create a schedule then pause, trigger, delete
// it; ...). Any failed check fails the test: a 5xx, a status, content type, header or body the
// document does not state, a valid request refused, an invalid one accepted, a missing 401 without
// the token. Configuration and format generators: test/api/contract/.
import { spawn } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { apiTestEnv, type ApiTestEnv } from '../support/api.ts';
import { ensureSchemathesis } from '../../infra/tools/schemathesis.ts';

const HERE = fileURLToPath(new URL('./contract/', import.meta.url));

/** Runs `st` to completion; resolves with its exit code and its output (stdout and stderr interleaved). */
function schemathesis(bin: string, args: string[], env: NodeJS.ProcessEnv, cwd: string): Promise<{ code: number | null; output: string }> {
  return new Promise((resolve, reject) => {
    // Run in a scratch directory: Schemathesis keeps its example database under the working directory.
    const child = spawn(bin, args, { env, cwd, stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    child.stdout.on('data', (d: Buffer) => (output += d.toString()));
    child.stderr.on('data', (d: Buffer) => (output += d.toString()));
    child.on('error', reject);
    child.on('exit', (code) => resolve({ code, output }));
  });
}

describe('API contract (Schemathesis)', () => {
  let env: ApiTestEnv;
  let base: string;
  let st: string;
  before(async () => {
    st = await ensureSchemathesis();
    // Rate limits would only answer 429 (documented) to a fuzzer sending hundreds of requests.
    env = await apiTestEnv({ env: { API_RATE_LIMIT_MAX: '100000' } });
    // The fuzzer checks the contract, not the worker's speed: beside the rest of the suite the worker
    // may answer a query or update late, and the API then says so with its documented 503 problem
    // (accepted in schemathesis.toml) after a short deadline, instead of holding the fuzzer.
    process.env.API_WORKER_DEADLINE_MS = '3000';
    base = await env.app.listen({ host: '127.0.0.1', port: 0 });
  });
  after(() => env?.close());

  it('documents every operation with an operationId, public routes without security, errors as problems', async () => {
    const doc = (await env.as('anonymous', { method: 'GET', url: '/docs/json' })).json() as {
      paths: Record<string, Record<string, { operationId?: string; security?: unknown[]; responses: Record<string, { content?: Record<string, unknown> }> }>>;
    };
    const ops = Object.entries(doc.paths).flatMap(([path, item]) => Object.entries(item).map(([method, op]) => ({ at: `${method.toUpperCase()} ${path}`, op })));
    const ids = ops.map((o) => o.op.operationId);
    assert.deepEqual(ops.filter((o) => !o.op.operationId).map((o) => o.at), []);
    assert.equal(new Set(ids).size, ids.length, 'operationIds are unique');
    for (const at of ['GET /healthz', 'GET /readyz', 'GET /metrics', 'GET /approve/{token}', 'POST /approve/{token}', 'GET /v1/codec/session'])
      assert.deepEqual(ops.find((o) => o.at === at)?.op.security, [], `${at} is public`);
    assert.equal(ops.find((o) => o.at === 'GET /v1/runs')?.op.security, undefined, 'GET /v1/runs needs the bearer token');
    const runs = ops.find((o) => o.at === 'POST /v1/runs')!.op.responses;
    for (const status of ['400', '401', '403', '404', '409', '413', '415', '422', '429']) assert.ok(runs[status]?.content?.['application/problem+json'], `POST /v1/runs ${status}`);
    const response = await env.as('admin', { method: 'TRACE', url: '/v1/runs' });
    assert.equal(response.statusCode, 405);
    assert.equal(response.headers.allow, 'GET, HEAD, POST');
  });

  it('finds no request for which the server and /docs/json disagree', { timeout: 600_000 }, async () => {
    const reports = mkdtempSync(join(tmpdir(), 'cedille-contract-'));
    const { code, output } = await schemathesis(
      st,
      [
        '--config-file',
        join(HERE, 'schemathesis.toml'),
        'run',
        `${base}/docs/json`,
        '--url',
        base,
        '--header',
        `Authorization: Bearer ${env.tokens.admin}`,
        '--checks',
        'all',
        '--phases',
        'examples,coverage,fuzzing,stateful',
        '--report',
        'junit',
        '--report-dir',
        reports,
        '--no-color',
      ],
      { ...process.env, SCHEMATHESIS_HOOKS: join(HERE, 'hooks.py') },
      reports,
    );
    assert.equal(code, 0, `schemathesis reported failures (junit report in ${reports}):\n${output.slice(-20_000)}`);
    assert.match(output, /passed/i);
  });
});
