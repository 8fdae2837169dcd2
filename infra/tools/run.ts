import { spawn, type SpawnOptions } from 'node:child_process';

/** Runs a command to completion, streaming its output to stderr; rejects on a non-zero exit. */
export function run(cmd: string, args: string[], opts: SpawnOptions = {}): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { stdio: ['ignore', 'inherit', 'inherit'], ...opts });
    child.on('error', reject);
    child.on('exit', (code, signal) =>
      code === 0 ? resolve() : reject(new Error(`${cmd} ${args.join(' ')} exited with ${code ?? signal}`)),
    );
  });
}

/** Prints a line of bootstrap progress (to stderr, so stdout stays for results). */
export function say(msg: string): void {
  process.stderr.write(`[tools] ${msg}\n`);
}
