// What every command gets: the API client for the resolved config, the output mode, and writers.
import type { Command } from 'commander';
import { ApiClient } from './client.ts';
import { resolveConfig } from './config.ts';

export type OutputMode = 'text' | 'json';

export interface Context {
  api: ApiClient;
  output: OutputMode;
  /** A line (or lines) to stdout. */
  print(text: string): void;
  /** A line to stderr. */
  warn(text: string): void;
  /** In json mode prints `value`, otherwise `text()`. */
  emit(value: unknown, text: () => string): void;
}

export function contextFor(cmd: Command): Context {
  const g = cmd.optsWithGlobals<{ apiUrl?: string; token?: string; output: OutputMode }>();
  const config = resolveConfig(g);
  const print = (text: string) => void process.stdout.write(text.endsWith('\n') ? text : `${text}\n`);
  return {
    api: new ApiClient(config.apiUrl, config.token),
    output: g.output,
    print,
    warn: (text) => void process.stderr.write(`${text}\n`),
    emit(value, text) {
      if (g.output === 'json') print(JSON.stringify(value, null, 2));
      else {
        const t = text();
        if (t) print(t);
      }
    },
  };
}

type Handler = (ctx: Context, args: string[], opts: Record<string, unknown>) => Promise<number | void>;

/** Wraps a command handler for commander: builds the context; a returned number is the exit code. */
export function act(handler: Handler) {
  return async (...params: unknown[]) => {
    const cmd = params[params.length - 1] as Command;
    const code = await handler(contextFor(cmd), cmd.processedArgs as string[], cmd.opts());
    if (typeof code === 'number' && code !== 0) process.exitCode = code;
  };
}
