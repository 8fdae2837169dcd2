// The CLI's frame: help and usage errors, validate and apply with positioned compile errors,
// definitions, audit, JSON output, exit codes for auth, conflict and network failures, and where
// the API URL and token come from (flags > env > config file).
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { cliEnv, FIXTURES, runCli, show, type CliEnv } from './_support.ts';

const BROKEN = `apiVersion: workflows.cedille.etsmtl.ca/v1alpha1
kind: WorkflowDefinition
metadata:
  name: broken
spec:
  steps:
    - id: a
      activity: core.echo
      compensate:
        - id: a
          activity: core.echo
    - id: b
      activity: core.nope
`;

/** A loopback port nothing listens on. */
async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const { port } = server.address() as { port: number };
  await new Promise((r) => server.close(r));
  return port;
}

describe('cedille CLI: definitions, config, exit codes', { concurrency: true }, () => {
  let env: CliEnv;
  before(async () => {
    env = await cliEnv();
  });
  after(() => env.close());

  it('prints help for the program and every command; usage errors exit 2', async () => {
    const [top, create, unknown, noFile, badOutput, badLimit] = await Promise.all([
      env.cli(['--help']),
      env.cli(['schedules', 'create', '--help']),
      env.cli(['frobnicate']),
      env.cli(['validate']),
      env.cli(['definitions', '--output', 'yaml']),
      env.cli(['runs', '--limit', '0']),
    ]);
    assert.equal(top.code, 0, show(top));
    for (const cmd of ['validate', 'apply', 'definitions', 'run', 'runs', 'get', 'watch', 'history', 'approve', 'reject', 'approvals', 'cancel', 'retry-failed', 'skip-failed', 'schedules', 'audit']) {
      assert.match(top.stdout, new RegExp(`^  ${cmd}\\b`, 'm'), `help lists ${cmd}`);
    }
    assert.match(top.stdout, /Exit codes: 0 ok/);
    assert.equal(create.code, 0, show(create));
    assert.match(create.stdout, /--cron <expression>/);
    assert.match(create.stdout, /Global Options:[\s\S]*--api-url/);
    assert.equal(unknown.code, 2, show(unknown));
    assert.match(unknown.stderr, /unknown command 'frobnicate'/);
    assert.equal(noFile.code, 2, show(noFile));
    assert.match(noFile.stderr, /--file <file>' not specified/);
    assert.equal(badOutput.code, 2, show(badOutput));
    assert.equal(badLimit.code, 2, show(badLimit));
    assert.match(badLimit.stderr, /positive integer/);
  });

  it('the cedille launcher (package.json bin) runs the same program', async () => {
    const r = await runCli([], {}, undefined, ['cli/cedille.js', 'approve', '--help']);
    assert.equal(r.code, 0, show(r));
    assert.match(r.stdout, /^Usage: cedille approve \[options\] <run> <step>/);
  });

  it('validate prints file:line:column: path: message per error and exits 1', async () => {
    const file = env.file('broken.yaml', BROKEN);
    const r = await env.cli(['validate', '-f', file], { as: 'nobody' });
    assert.equal(r.code, 1, show(r));
    const lines = r.stderr.trim().split('\n');
    assert.ok(lines.includes(`${file}:10:15: spec.steps[0].compensate[0].id: duplicate step id 'a' (first used at line 7)`), show(r));
    assert.ok(lines.some((l) => l.startsWith(`${file}:13:17: spec.steps[1].activity: `) && /core\.nope/.test(l)), show(r));
    for (const l of lines) assert.match(l, /^.+:\d+:\d+: \S+: .+$/);

    const json = await env.cli(['validate', '-f', file, '--output', 'json'], { as: 'nobody' });
    assert.equal(json.code, 1, show(json));
    const body = JSON.parse(json.stdout) as { valid: boolean; errors: { line: number; column: number }[] };
    assert.equal(body.valid, false);
    assert.ok(body.errors.some((e) => e.line === 10 && e.column === 15));
  });

  it('validate reads stdin with -f - and reports a valid definition', async () => {
    const source = readFileSync(join(FIXTURES, 'fan-out.yaml'), 'utf8');
    const r = await env.cli(['validate', '-f', '-'], { stdin: source, as: 'nobody' });
    assert.equal(r.code, 0, show(r));
    assert.match(r.stdout, /^-: valid \(fan-out @ [0-9a-f]{12}\)/);
  });

  it('apply registers a definition; definitions lists it (text and JSON)', async () => {
    const file = join(FIXTURES, 'wait-steps.yaml');
    const first = await env.cli(['apply', '-f', file]);
    assert.equal(first.code, 0, show(first));
    assert.match(first.stdout, /^definition wait-steps @ [0-9a-f]{12} registered$/m);
    const again = await env.cli(['apply', '-f', file]);
    assert.match(again.stdout, /wait-steps @ [0-9a-f]{12} unchanged/, show(again));

    const list = await env.cli(['definitions'], { as: 'nobody' });
    assert.equal(list.code, 0, show(list));
    assert.match(list.stdout, /^NAME\s+HASH\s+BUILTIN/m);
    assert.match(list.stdout, /^wait-steps\s+[0-9a-f]{12}\s+no/m);
    assert.match(list.stdout, /^hello-world\s+[0-9a-f]{12}\s+yes\s+helloWorld\s+Hello, world/m);

    const json = await env.cli(['definitions', '-o', 'json'], { as: 'nobody' });
    assert.equal(json.code, 0, show(json));
    const { definitions } = JSON.parse(json.stdout) as { definitions: { name: string; builtin: boolean }[] };
    assert.deepEqual(definitions.find((d) => d.name === 'wait-steps')?.builtin, false);

    const audit = await env.cli(['audit', '--action', 'definition.register', '--since', '1h']);
    assert.equal(audit.code, 0, show(audit));
    assert.match(audit.stdout, /alice-admin\s+definition\.register\s+wait-steps/);
  });

  it('apply over a built-in name is a conflict (exit 5); without the admin role it is refused (exit 3)', async () => {
    const source = readFileSync(join(FIXTURES, 'fan-out.yaml'), 'utf8').replace('name: fan-out', 'name: hello-world');
    const conflict = await env.cli(['apply', '-f', env.file('clash.yaml', source)]);
    assert.equal(conflict.code, 5, show(conflict));
    assert.match(conflict.stderr, /metadata\.name: .*hello-world/);
    const refused = await env.cli(['apply', '-f', join(FIXTURES, 'fan-out.yaml')], { as: 'operator' });
    assert.equal(refused.code, 3, show(refused));
    assert.match(refused.stderr, /^error: olivier-operator may not do this \(needs admin\) \(403 Forbidden\)$/m);
  });

  it('missing or unknown tokens exit 3 and say how to pass one', async () => {
    const missing = await env.cli(['definitions'], { as: null });
    assert.equal(missing.code, 3, show(missing));
    assert.match(missing.stderr, /missing bearer token/);
    assert.match(missing.stderr, /--token, set CEDILLE_TOKEN/);
    const unknown = await env.cli(['definitions', '--token', 'not-a-token']);
    assert.equal(unknown.code, 3, show(unknown));
    assert.match(unknown.stderr, /unknown token/);
  });

  it('an unreachable API exits 6; bad flags and times exit 2', async () => {
    const down = await env.cli(['definitions', '--api-url', `http://127.0.0.1:${await closedPort()}`]);
    assert.equal(down.code, 6, show(down));
    assert.match(down.stderr, /cannot reach the API at http:\/\/127\.0\.0\.1:\d+: ECONNREFUSED/);
    const since = await env.cli(['audit', '--since', 'yesterday-ish']);
    assert.equal(since.code, 2, show(since));
    const url = await env.cli(['definitions', '--api-url', 'not a url']);
    assert.equal(url.code, 2, show(url));
  });

  it('takes the API URL and token from flags, then env, then the config file', async () => {
    const home = mkdtempSync(join(tmpdir(), 'cedille-cli-xdg-'));
    mkdirSync(join(home, 'cedille'));
    const down = `http://127.0.0.1:${await closedPort()}`;
    const write = (config: unknown) => writeFileSync(join(home, 'cedille', 'config.json'), JSON.stringify(config));
    const run = (args: string[], extra: Record<string, string | undefined> = {}) =>
      env.cli(['definitions', ...args], { as: null, env: { XDG_CONFIG_HOME: home, CEDILLE_API_URL: undefined, ...extra } });

    write({ apiUrl: env.url, token: env.api.tokens.nobody });
    const fromFile = await run([]);
    assert.equal(fromFile.code, 0, show(fromFile));
    assert.match(fromFile.stdout, /hello-world/);

    const envToken = await run([], { CEDILLE_TOKEN: 'wrong' });
    assert.equal(envToken.code, 3, `env token wins over the file\n${show(envToken)}`);
    const flagToken = await run(['--token', env.api.tokens.nobody], { CEDILLE_TOKEN: 'wrong' });
    assert.equal(flagToken.code, 0, `flag wins over env\n${show(flagToken)}`);

    write({ apiUrl: down, token: env.api.tokens.nobody });
    assert.equal((await run([])).code, 6, 'the file URL is used');
    const envUrl = await run([], { CEDILLE_API_URL: env.url });
    assert.equal(envUrl.code, 0, `env URL wins over the file\n${show(envUrl)}`);
    const flagUrl = await run(['--api-url', env.url], { CEDILLE_API_URL: down });
    assert.equal(flagUrl.code, 0, `flag URL wins over env\n${show(flagUrl)}`);

    writeFileSync(join(home, 'cedille', 'config.json'), '{ not json');
    const broken = await run([]);
    assert.equal(broken.code, 2, show(broken));
    assert.match(broken.stderr, /config\.json: invalid config/);
  });
});
