// The worker's probes and metrics over HTTP (CEDILLE_WORKER_HEALTH_PORT): /healthz answers 200 while
// the worker runs (not failed, not stopped: the kubelet restarts it otherwise), /readyz 200 only while
// it polls (state RUNNING) and Temporal answers on its connection (GetSystemInfo within 2 s), /metrics
// the Temporal runtime's own metrics (its Prometheus exporter on a loopback port, relayed) followed by
// the process metrics of prom-client, in Prometheus text format.
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { NativeConnection, Worker } from '@temporalio/worker';
import { Registry, collectDefaultMetrics, Gauge } from 'prom-client';

const ALIVE: ReadonlySet<string> = new Set(['INITIALIZED', 'RUNNING', 'DRAINING', 'DRAINED', 'STOPPING']);
const CONNECTION_CHECK_MS = 2_000;

export interface HealthServerOptions {
  worker: Pick<Worker, 'getState'>;
  connection: Pick<NativeConnection, 'workflowService'>;
  host: string;
  port: number;
  /** Where the Temporal runtime's Prometheus exporter listens (`host:port`), if installed. */
  runtimeMetricsAddress?: string;
}

export interface HealthServer {
  url: string;
  close(): Promise<void>;
}

async function temporalAnswers(connection: HealthServerOptions['connection']): Promise<boolean> {
  const timeout = new Promise<false>((resolve) => setTimeout(() => resolve(false), CONNECTION_CHECK_MS).unref());
  const answer = connection.workflowService.getSystemInfo({}).then(
    () => true,
    () => false,
  );
  return Promise.race([answer, timeout]);
}

async function runtimeMetrics(address: string | undefined): Promise<string> {
  if (!address) return '';
  const res = await fetch(`http://${address}/metrics`, { signal: AbortSignal.timeout(CONNECTION_CHECK_MS) });
  if (!res.ok) throw new Error(`Temporal runtime metrics: HTTP ${res.status}`);
  const text = await res.text();
  return text.endsWith('\n') || !text ? text : `${text}\n`;
}

export async function startHealthServer(opts: HealthServerOptions): Promise<HealthServer> {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry, prefix: 'cedille_worker_' });
  new Gauge({
    name: 'cedille_worker_ready',
    help: '1 while the worker polls its task queue (state RUNNING), else 0',
    registers: [registry],
    collect() {
      this.set(opts.worker.getState() === 'RUNNING' ? 1 : 0);
    },
  });

  const server: Server = createServer((req, res) => {
    const send = (status: number, body: string, type = 'text/plain; charset=utf-8') => {
      res.writeHead(status, { 'content-type': type, 'cache-control': 'no-store' });
      res.end(body);
    };
    const path = (req.url ?? '/').split('?')[0];
    if (req.method !== 'GET') return send(405, 'method not allowed\n');
    const state = opts.worker.getState();
    if (path === '/healthz') return ALIVE.has(state) ? send(200, `ok ${state}\n`) : send(503, `worker ${state}\n`);
    if (path === '/readyz') {
      if (state !== 'RUNNING') return send(503, `worker ${state}\n`);
      void temporalAnswers(opts.connection).then((ok) => (ok ? send(200, 'ready\n') : send(503, 'Temporal does not answer\n')));
      return;
    }
    if (path === '/metrics') {
      void Promise.all([runtimeMetrics(opts.runtimeMetricsAddress), registry.metrics()]).then(
        ([runtime, own]) => send(200, runtime + own, registry.contentType),
        (err: unknown) => send(500, `${(err as Error).message}\n`),
      );
      return;
    }
    send(404, 'not found\n');
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.port, opts.host, () => resolve());
  });
  const { port } = server.address() as AddressInfo;
  const host = opts.host.includes(':') ? `[${opts.host}]` : opts.host;
  return {
    url: `http://${host}:${port}`,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}
