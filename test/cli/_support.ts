// The CLI as a child process (`node --import tsx cli/main.ts ...`) against a real API listening on
// loopback, with its worker: every test sees the exit code, stdout and stderr a user would.
import { spawn } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { apiTestEnv, type ApiTestEnv, type Who } from '../support/api.ts';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
export const FIXTURES = join(ROOT, 'test', 'fixtures', 'definitions');

/** One approval step for the `sre` group (ada-sre and grace-sre), then an echo. */
export const APPROVAL = `apiVersion: workflows.cedille.etsmtl.ca/v1alpha1
kind: WorkflowDefinition
metadata:
  name: cli-approval
spec:
  steps:
    - id: review
      approval:
        title: Ship it?
        groups: [sre]
        timeout: 1h
        onTimeout: reject
    - id: ship
      activity: core.echo
      with: { value: shipped }
`;

export interface CliResult {
  code: number;
  stdout: string;
  stderr: string;
}

export interface CliOptions {
  /** Identity whose token goes in CEDILLE_TOKEN (default admin); null: none. */
  as?: Who | null;
  /** Extra environment (replaces the defaults it names). */
  env?: Record<string, string | undefined>;
  stdin?: string;
}

export interface CliEnv {
  api: ApiTestEnv;
  url: string;
  /** An empty XDG_CONFIG_HOME, so no user config leaks into a test. */
  configHome: string;
  cli(args: string[], opts?: CliOptions): Promise<CliResult>;
  /** Writes a scratch file and returns its path. */
  file(name: string, text: string): string;
  close(): Promise<void>;
}

/** Runs `node <entry> ...args` (default entry: `--import tsx cli/main.ts`) from the repository root. */
export function runCli(args: string[], env: Record<string, string | undefined>, stdin?: string, entry = ['--import', 'tsx', 'cli/main.ts']): Promise<CliResult> {
  return new Promise((resolve, reject) => {
    const clean = Object.fromEntries(Object.entries({ ...process.env, ...env }).filter((e): e is [string, string] => e[1] !== undefined));
    const child = spawn(process.execPath, [...entry, ...args], { cwd: ROOT, env: clean, stdio: ['pipe', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code: code ?? -1, stdout, stderr }));
    child.stdin.end(stdin ?? '');
  });
}

export async function cliEnv(): Promise<CliEnv> {
  const api = await apiTestEnv();
  await api.app.listen({ host: '127.0.0.1', port: 0 });
  const { port } = api.app.server.address() as { port: number };
  const url = `http://127.0.0.1:${port}`;
  const scratch = mkdtempSync(join(tmpdir(), 'cedille-cli-'));
  const configHome = mkdtempSync(join(tmpdir(), 'cedille-cli-config-'));
  return {
    api,
    url,
    configHome,
    cli(args, opts = {}) {
      const who = opts.as === undefined ? 'admin' : opts.as;
      return runCli(
        args,
        {
          XDG_CONFIG_HOME: configHome,
          CEDILLE_API_URL: url,
          CEDILLE_TOKEN: who ? api.tokens[who] : undefined,
          CEDILLE_WATCH_INTERVAL_MS: '250',
          ...opts.env,
        },
        opts.stdin,
      );
    },
    file(name, text) {
      const path = join(scratch, name);
      writeFileSync(path, text);
      return path;
    },
    close: () => api.close(),
  };
}

/** A readable assertion message: the command's output. */
export const show = (r: CliResult) => `exit ${r.code}\n--- stdout\n${r.stdout}\n--- stderr\n${r.stderr}`;
