// validate, apply, definitions.
import { readFileSync } from 'node:fs';
import type { Command } from 'commander';
import { act, type Context } from '../context.ts';
import { ApiError, UsageError } from '../errors.ts';
import type { CompileFieldError } from '../types.ts';
import { table } from '../render/table.ts';

export function readSource(file: string): string {
  try {
    return readFileSync(file === '-' ? 0 : file, 'utf8');
  } catch (err) {
    throw new UsageError(`${file}: ${(err as Error).message}`);
  }
}

/** `file:line:column: path: message`, with the local file name in place of the server's. */
export function compileErrorLine(file: string, e: CompileFieldError): string {
  if (e.line !== undefined && e.column !== undefined) {
    const path = e.path ?? e.field;
    return `${file}:${e.line}:${e.column}: ${path ? `${path}: ` : ''}${e.message}`;
  }
  const m = e.field.match(/^(.*?):(\d+):(\d+)(?::|\s)\s*(.*)$/);
  if (!m) return `${file}: ${e.field ? `${e.field}: ` : ''}${e.message}`;
  return `${file}:${m[2]}:${m[3]}: ${m[4] ? `${m[4]}: ` : ''}${e.message}`;
}

/** Prints the compile errors of a 422 (exit 1) or a 409 name conflict (exit 5); rethrows anything else. */
function compileErrors(ctx: Context, file: string, err: unknown): number {
  if (!(err instanceof ApiError) || (err.status !== 422 && err.status !== 409) || !err.problem?.errors) throw err;
  const errors = err.problem.errors as CompileFieldError[];
  ctx.emit(err.problem, () => '');
  if (ctx.output === 'text') {
    for (const e of errors) ctx.warn(compileErrorLine(file, e));
    if (!errors.length) ctx.warn(`${file}: ${err.problem.detail ?? err.message}`);
  }
  return err.exitCode;
}

function warnings(ctx: Context, file: string, list: CompileFieldError[] | undefined): void {
  if (ctx.output === 'text') for (const w of list ?? []) ctx.warn(`warning: ${compileErrorLine(file, w)}`);
}

export function register(program: Command): void {
  program
    .command('validate')
    .description('Compile a definition on the server without registering it; prints file:line:column: path: message per error')
    .requiredOption('-f, --file <file>', 'YAML definition (- for stdin)')
    .action(
      act(async (ctx, _args, opts) => {
        const file = opts.file as string;
        try {
          const res = await ctx.api.validate(readSource(file), file === '-' ? 'stdin' : file);
          warnings(ctx, file, res.warnings);
          ctx.emit(res, () => (res.valid ? `${file}: valid (${res.definition.name} @ ${res.definition.hash.slice(0, 12)})` : ''));
        } catch (err) {
          return compileErrors(ctx, file, err);
        }
      }),
    );

  program
    .command('apply')
    .description('Register a definition (a new version when its content changed)')
    .requiredOption('-f, --file <file>', 'YAML definition (- for stdin)')
    .action(
      act(async (ctx, _args, opts) => {
        const file = opts.file as string;
        try {
          const res = await ctx.api.apply(readSource(file));
          warnings(ctx, file, res.warnings);
          ctx.emit(res, () => `definition ${res.definition.name} @ ${res.definition.hash.slice(0, 12)} ${res.created ? 'registered' : 'unchanged'}`);
        } catch (err) {
          return compileErrors(ctx, file, err);
        }
      }),
    );

  program
    .command('definitions')
    .description('List the definitions the API knows')
    .action(
      act(async (ctx) => {
        const res = await ctx.api.definitions();
        ctx.emit(res, () =>
          table(
            ['name', 'hash', 'builtin', 'workflow type', 'title'],
            res.definitions.map((d) => [d.name, d.hash.slice(0, 12), d.builtin ? 'yes' : 'no', d.workflowType ?? '', d.title ?? d.description ?? '']),
          ),
        );
      }),
    );
}
