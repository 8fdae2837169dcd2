// `cedille`: the command line of Cédille Workflows, a thin client of the v1 HTTP API (docs/API.md).
// Exit codes: 0 ok; 1 the thing failed; 2 usage; 3 auth; 4 not found; 5 conflict; 6 server/network.
import { pathToFileURL } from 'node:url';
import { Command, CommanderError, Option } from 'commander';
import { ApiError, EXIT, Exit, UsageError } from './errors.ts';
import { configFilePath, DEFAULT_API_URL } from './config.ts';
import * as definitions from './commands/definitions.ts';
import * as runs from './commands/runs.ts';
import * as approvals from './commands/approvals.ts';
import * as schedules from './commands/schedules.ts';
import * as audit from './commands/audit.ts';
import * as incidents from './commands/incidents.ts';

export function buildProgram(): Command {
  const program = new Command('cedille')
    .description('Cédille Workflows: validate and register definitions, start, watch and approve runs, manage schedules')
    .addOption(new Option('-o, --output <format>', 'output format').choices(['text', 'json']).default('text'))
    .option('--api-url <url>', `API base URL (env CEDILLE_API_URL, config file, default ${DEFAULT_API_URL})`)
    .option('--token <token>', 'bearer token (env CEDILLE_TOKEN, config file)')
    .configureHelp({ showGlobalOptions: true })
    .addHelpText(
      'after',
      `\nConfig file: ${configFilePath()} ({ "apiUrl": ..., "token": ... }); flags win over env, env over the file.\n` +
        'Exit codes: 0 ok, 1 failed (validation errors, run failed), 2 usage, 3 auth, 4 not found, 5 conflict, 6 server/network.',
    )
    .showHelpAfterError('(add --help for usage)')
    .exitOverride();
  definitions.register(program);
  runs.register(program);
  approvals.register(program);
  schedules.register(program);
  audit.register(program);
  incidents.register(program);
  return program;
}

function report(err: ApiError): void {
  const p = err.problem;
  const lines = [`error: ${err.status ? `${p?.detail ?? err.message} (${err.status}${p?.title ? ` ${p.title}` : ''})` : err.message}`];
  for (const e of p?.errors ?? []) lines.push(`  ${e.field}: ${e.message}`);
  if (err.status === 401) lines.push('  (pass --token, set CEDILLE_TOKEN, or put "token" in the config file)');
  process.stderr.write(`${lines.join('\n')}\n`);
}

/** Runs the CLI on `argv` (node-style: [node, script, ...args]) and returns the exit code. */
export async function main(argv: string[]): Promise<number> {
  process.exitCode = 0;
  try {
    await buildProgram().parseAsync(argv);
    return Number(process.exitCode ?? 0);
  } catch (err) {
    if (err instanceof CommanderError) return err.exitCode === 0 ? EXIT.ok : EXIT.usage;
    if (err instanceof Exit) return err.exitCode;
    if (err instanceof UsageError) {
      process.stderr.write(`error: ${err.message}\n`);
      return EXIT.usage;
    }
    if (err instanceof ApiError) {
      report(err);
      return err.exitCode;
    }
    process.stderr.write(`error: ${(err as Error).stack ?? String(err)}\n`);
    return EXIT.server;
  }
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  process.exitCode = await main(process.argv);
}
