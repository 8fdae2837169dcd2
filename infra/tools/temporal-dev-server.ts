// Starts `temporal server start-dev` on loopback (free ports unless given) with the project's search
// attributes, waits until its frontend answers, and stops it (process group) on demand.
import { spawn, type ChildProcess } from 'node:child_process';
import { closeSync, openSync, readFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { Connection } from '@temporalio/client';
import { ensureTemporalCli } from './temporal.ts';
import { SEARCH_ATTRIBUTES } from '../../workflows/search-attributes.ts';
import { freePort } from '../free-port.ts';

export { freePort };

/**
 * Dynamic config of every dev server we start: the dev server's default rate limits throttle one
 * namespace well below what a fan-out over thousands of items needs, and the history limit is
 * pinned to the production default the interpreter is designed against.
 */
export const DEV_SERVER_DYNAMIC_CONFIG = [
  'frontend.rps=100000',
  'frontend.namespaceRPS=100000',
  'frontend.namespaceRPS.visibility=10000',
  'frontend.globalNamespaceRPS=100000',
  'history.rps=100000',
  'matching.rps=100000',
  'limit.historyCount.error=51200',
];

export interface DevServerOptions {
  /** SQLite file; omitted = in-memory. */
  dbFile?: string;
  /** Serve the Web UI (default false: tests do not need it). */
  ui?: boolean;
  port?: number;
  uiPort?: number;
  /** The UI's remote codec endpoint (the API's /v1/codec): the UI shows payloads decoded through it. */
  uiCodecEndpoint?: string;
  namespace?: string;
  logLevel?: 'debug' | 'info' | 'warn' | 'error';
  /** Extra `--dynamic-config-value` entries (after DEV_SERVER_DYNAMIC_CONFIG, so they win). */
  dynamicConfig?: string[];
  /** Inherit stdio (interactive use) instead of capturing it. */
  inheritOutput?: boolean;
  /** Append the server's output to this file instead of capturing it. */
  logFile?: string;
  /** Aborting it while the server starts stops the server and rejects. */
  signal?: AbortSignal;
}

export interface DevServer {
  address: string;
  uiUrl?: string;
  namespace: string;
  process: ChildProcess;
  stop(): Promise<void>;
}

/** `preferred` if nothing listens on it on loopback, else a free port. */
export function portOrFree(preferred: number): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.unref();
    srv.once('error', (err: NodeJS.ErrnoException) => (err.code === 'EADDRINUSE' ? freePort().then(resolve, reject) : reject(err)));
    srv.listen(preferred, '127.0.0.1', () => srv.close(() => resolve(preferred)));
  });
}

export async function startDevServer(opts: DevServerOptions = {}): Promise<DevServer> {
  const cli = await ensureTemporalCli();
  const port = opts.port ?? (await freePort());
  const uiPort = opts.ui ? (opts.uiPort ?? (await freePort())) : undefined;
  const namespace = opts.namespace ?? 'default';
  const args = ['server', 'start-dev', '--ip', '127.0.0.1', '--port', String(port), '--namespace', namespace];
  args.push('--log-level', opts.logLevel ?? 'error');
  if (opts.dbFile) args.push('--db-filename', opts.dbFile);
  if (uiPort) args.push('--ui-port', String(uiPort), '--ui-ip', '127.0.0.1');
  if (uiPort && opts.uiCodecEndpoint) args.push('--ui-codec-endpoint', opts.uiCodecEndpoint);
  else args.push('--headless');
  for (const [name, type] of Object.entries(SEARCH_ATTRIBUTES)) args.push('--search-attribute', `${name}=${type}`);
  for (const kv of [...DEV_SERVER_DYNAMIC_CONFIG, ...(opts.dynamicConfig ?? [])]) args.push('--dynamic-config-value', kv);

  const log = opts.logFile ? openSync(opts.logFile, 'a') : 'pipe';
  const child = spawn(cli, args, { stdio: opts.inheritOutput ? 'inherit' : ['ignore', log, log], detached: true });
  if (typeof log === 'number') closeSync(log);
  let captured = '';
  child.stdout?.on('data', (d: Buffer) => (captured = (captured + d.toString()).slice(-8000)));
  child.stderr?.on('data', (d: Buffer) => (captured = (captured + d.toString()).slice(-8000)));
  const output = () => (opts.logFile ? readFileSync(opts.logFile, 'utf8').slice(-8000) : captured);
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));

  const stop = async () => {
    if (child.exitCode !== null || child.signalCode !== null) return;
    try {
      process.kill(-child.pid!, 'SIGTERM');
    } catch {
      /* already gone */
    }
    const timer = setTimeout(() => {
      try {
        process.kill(-child.pid!, 'SIGKILL');
      } catch {
        /* already gone */
      }
    }, 10_000);
    await exited;
    clearTimeout(timer);
  };

  const address = `127.0.0.1:${port}`;
  const deadline = Date.now() + 120_000;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`temporal dev server exited (${child.exitCode}):\n${output()}`);
    if (opts.signal?.aborted) {
      await stop();
      throw opts.signal.reason;
    }
    try {
      const conn = await Connection.connect({ address, connectTimeout: 2000 });
      try {
        await conn.workflowService.describeNamespace({ namespace });
        break;
      } finally {
        await conn.close();
      }
    } catch (err) {
      if (Date.now() > deadline) {
        await stop();
        throw new Error(`temporal dev server on ${address} not ready after 120 s: ${(err as Error).message}\n${output()}`, { cause: err });
      }
      await new Promise((r) => setTimeout(r, 250));
    }
  }
  return { address, namespace, uiUrl: uiPort ? `http://127.0.0.1:${uiPort}` : undefined, process: child, stop };
}
