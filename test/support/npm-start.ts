// `npm start` as a user runs it, for end-to-end tests: in its own process group like a terminal job,
// resolved once the banner printed the approver token (the last line), stopped with SIGINT like Ctrl-C.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { join } from 'node:path';

const repo = join(import.meta.dirname, '..', '..');

export interface StartedStack {
  pid: number;
  /** stdout and stderr so far. */
  output(): string;
  /** The first word of a banner line's value (`  <label>   <value> …`). */
  field(label: string): string;
  /** A banner line's whole value. */
  line(label: string): string;
  /** SIGINT to the whole process group (SIGKILL after `killAfterMs`); the exit code and how long it took. */
  interrupt(killAfterMs?: number): Promise<{ code: number | null; tookMs: number }>;
}

export async function npmStart(args: string[], env: NodeJS.ProcessEnv): Promise<StartedStack> {
  const child = spawn('npm', ['start', ...(args.length ? ['--', ...args] : [])], { cwd: repo, env: { ...process.env, ...env }, detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
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
  return {
    pid: child.pid!,
    output: () => out,
    field: (label) => new RegExp(`^ {2}${label} {2,}(\\S+)`, 'm').exec(out)?.[1] ?? assert.fail(`no "${label}" in:\n${out}`),
    line: (label) => new RegExp(`^ {2}${label} +(.*)$`, 'm').exec(out)?.[1] ?? assert.fail(`no "${label}" line in:\n${out}`),
    async interrupt(killAfterMs = 15_000) {
      const sent = Date.now();
      process.kill(-child.pid!, 'SIGINT');
      const timer = setTimeout(() => process.kill(-child.pid!, 'SIGKILL'), killAfterMs);
      const code = await exited;
      clearTimeout(timer);
      return { code, tookMs: Date.now() - sent };
    },
  };
}
