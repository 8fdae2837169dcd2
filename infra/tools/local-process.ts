// A local server process of tests and the embedded default: spawned in its own process group, polled
// until ready, stopped with SIGTERM then SIGKILL (the whole group, so no orphan survives a test run).
import { spawn, type ChildProcess } from 'node:child_process';

export interface LocalProcess {
  process: ChildProcess;
  /** The last 8 kB of its stdout + stderr. */
  output(): string;
  stop(): Promise<void>;
}

export interface LocalProcessOptions {
  name: string;
  cmd: string;
  args: string[];
  env?: NodeJS.ProcessEnv;
  cwd?: string;
  /** Resolves true once the server answers; errors count as "not yet". */
  ready(): Promise<boolean>;
  timeoutMs?: number;
}

export async function startLocalProcess(opts: LocalProcessOptions): Promise<LocalProcess> {
  const child = spawn(opts.cmd, opts.args, { stdio: ['ignore', 'pipe', 'pipe'], detached: true, env: opts.env, cwd: opts.cwd });
  let captured = '';
  const keep = (d: Buffer) => (captured = (captured + d.toString()).slice(-8000));
  child.stdout.on('data', keep);
  child.stderr.on('data', keep);
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const stop = () => stopGroup(child, exited);
  const running: LocalProcess = { process: child, output: () => captured, stop };

  const deadline = Date.now() + (opts.timeoutMs ?? 60_000);
  for (;;) {
    if (child.exitCode !== null || child.signalCode !== null) {
      throw new Error(`${opts.name} exited (${child.exitCode ?? child.signalCode}):\n${captured}`);
    }
    if (await opts.ready().catch(() => false)) return running;
    if (Date.now() > deadline) {
      await stop();
      throw new Error(`${opts.name} not ready after ${(opts.timeoutMs ?? 60_000) / 1000} s:\n${captured}`);
    }
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** Stops the process group of `child` (spawned detached): SIGTERM, SIGKILL after `graceMs`; resolves once it exited. */
export async function stopGroup(child: ChildProcess, exited: Promise<void>, graceMs = 10_000): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const signal = (sig: NodeJS.Signals) => {
    try {
      process.kill(-child.pid!, sig);
    } catch {
      /* already gone */
    }
  };
  signal('SIGTERM');
  const timer = setTimeout(() => signal('SIGKILL'), graceMs);
  await exited;
  clearTimeout(timer);
}
