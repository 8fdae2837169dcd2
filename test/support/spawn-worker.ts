// A worker (interpreter + catalog) in a child process (test/support/worker-process.ts), so a test can
// SIGKILL it like a crash, or give it an environment of its own.
import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const WORKER_SCRIPT = fileURLToPath(new URL('./worker-process.ts', import.meta.url));

export interface WorkerProcess {
  child: ChildProcess;
  exited: Promise<void>;
  output(): string;
  /** SIGKILL (a crash), then wait for the exit. */
  kill(): Promise<void>;
}

/** A worker (interpreter + catalog) in a child process on `taskQueue`; resolves once it polls. */
export async function spawnWorker(taskQueue: string, env: NodeJS.ProcessEnv = process.env, ...flags: string[]): Promise<WorkerProcess> {
  const child = spawn(process.execPath, ['--import', 'tsx', WORKER_SCRIPT, taskQueue, ...flags], { stdio: ['ignore', 'pipe', 'pipe'], env });
  let out = '';
  child.stdout!.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr!.on('data', (d: Buffer) => (out = (out + d.toString()).slice(-8_000)));
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const proc: WorkerProcess = {
    child,
    exited,
    output: () => out,
    async kill() {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
      await exited;
    },
  };
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`worker process not ready after 60 s:\n${out}`)), 60_000);
    const onData = () => {
      if (!out.includes('ready\n')) return;
      clearTimeout(timer);
      child.stdout!.off('data', onData);
      resolve();
    };
    child.stdout!.on('data', onData);
    child.once('exit', (code, signal) => {
      clearTimeout(timer);
      reject(new Error(`worker process exited (${code ?? signal}) before ready:\n${out}`));
    });
  });
  return proc;
}
