// The production topology in one test: PostgreSQL, the real Temporal server on it, the platform database
// beside Temporal's, and the deployment's own entry points as processes: APIs (api/main.ts) and workers
// (worker/main.ts) sharing one configuration (signing key, codec keys, task queue, DATABASE_URL). A test
// can SIGKILL any process and start it again with the same configuration (an API on the same port).
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes, randomUUID } from 'node:crypto';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Client, Connection } from '@temporalio/client';
import { dataConverterFromEnv } from '../../codec/index.ts';
import { freePort } from '../../infra/tools/temporal-dev-server.ts';
import { startTemporalOnPostgres, type TemporalOnPostgres } from '../../infra/tools/temporal-server.ts';

const REPO = fileURLToPath(new URL('../..', import.meta.url));

export interface TopologyProcess {
  name: string;
  /** SIGKILL (a crash), then wait for the exit; nothing when not running. */
  kill(): Promise<void>;
  /** Starts it again (after a kill), with the same configuration; resolves once it serves. */
  start(): Promise<void>;
  running(): boolean;
  output(): string;
}

export interface ApiProcess extends TopologyProcess {
  url: string;
}

export const TOPOLOGY_IDENTITIES = {
  admin: { subject: 'ada-admin', roles: ['admin'], groups: ['sre'] },
  operator: { subject: 'olivier-operator', roles: ['operator'], groups: [] },
} as const;

/** People of the approver directory (links are minted for them). */
export const TOPOLOGY_APPROVERS = {
  edith: { subject: 'edith', name: 'Édith Tremblay', groups: ['ets-it'] },
} as const;

export interface Topology {
  temporal: TemporalOnPostgres;
  /** The platform database (DATABASE_URL of every API and worker). */
  databaseUrl: string;
  taskQueue: string;
  /** The run's signing key: links minted with it are the platform's. */
  linkSecret: string;
  /** A plain Temporal client (the run's codec), as the Temporal UI or `temporal` CLI would be. */
  client: Client;
  apis: ApiProcess[];
  workers: TopologyProcess[];
  token(who: keyof typeof TOPOLOGY_IDENTITIES): string;
  /** A worker of another release: `repo` is that release's source tree (its worker/main.ts), same configuration. */
  workerOf(repo: string, name: string): TopologyProcess;
  close(): Promise<void>;
}

function processOf(name: string, script: string, env: NodeJS.ProcessEnv, ready: RegExp, cwd = REPO): TopologyProcess {
  let child: ChildProcess | undefined;
  let exited: Promise<void> = Promise.resolve();
  let out = '';
  const alive = () => child !== undefined && child.exitCode === null && child.signalCode === null;
  return {
    name,
    running: alive,
    output: () => out,
    async kill() {
      if (alive()) child!.kill('SIGKILL');
      await exited;
    },
    async start() {
      if (alive()) throw new Error(`${name} is already running`);
      const c = spawn(process.execPath, ['--import', 'tsx', script], { cwd, env, stdio: ['ignore', 'pipe', 'pipe'] });
      child = c;
      exited = new Promise((resolve) => c.once('exit', () => resolve()));
      const keep = (d: Buffer) => (out = (out + d.toString()).slice(-16_000));
      c.stdout!.on('data', keep);
      c.stderr!.on('data', keep);
      await new Promise<void>((resolve, reject) => {
        const check = () => {
          if (!ready.test(out)) return;
          c.stdout!.off('data', check);
          c.stderr!.off('data', check);
          resolve();
        };
        c.stdout!.on('data', check);
        c.stderr!.on('data', check);
        c.once('exit', (code, signal) => reject(new Error(`${name} exited (${code ?? signal}) before it served:\n${out}`)));
      });
      out += `\n--- ${name} serving ---\n`;
    },
  };
}

export async function startTopology(opts: { apis?: number; workers?: number; incidentsConfig?: string; env?: NodeJS.ProcessEnv } = {}): Promise<Topology> {
  const temporal = await startTemporalOnPostgres();
  const started: TopologyProcess[] = [];
  try {
    await temporal.postgres.createDatabase('cedille');
    const databaseUrl = temporal.postgres.urlFor('cedille');
    const scratch = mkdtempSync(join(process.env.CEDILLE_TEST_SCRATCH ?? tmpdir(), 'topology-'));
    const taskQueue = `topology-${randomUUID()}`;
    const linkSecret = process.env.CEDILLE_LINK_SECRET || randomBytes(32).toString('base64url');
    const tokens = Object.fromEntries(Object.keys(TOPOLOGY_IDENTITIES).map((who) => [who, `topo_${who}_${randomBytes(24).toString('base64url')}`])) as Record<keyof typeof TOPOLOGY_IDENTITIES, string>;
    const tokensFile = join(scratch, 'api-tokens.json');
    writeFileSync(tokensFile, JSON.stringify(Object.entries(TOPOLOGY_IDENTITIES).map(([who, id]) => ({ token: tokens[who as keyof typeof tokens], ...id }))));
    // The approver directory of the approval page (and of notify.send, whose webhook nobody serves here).
    const notifyFile = join(scratch, 'notify.json');
    writeFileSync(notifyFile, JSON.stringify({
      directory: Object.values(TOPOLOGY_APPROVERS).map((a) => ({ id: a.subject, ...a, discord: { webhook: 'http://127.0.0.1:9/webhooks/none' } })),
      discord: { groups: {}, default: 'http://127.0.0.1:9/webhooks/none' },
      publicUrl: 'http://127.0.0.1',
      linkSecret,
    }));
    const incidentsFile = join(scratch, 'incidents.yaml');
    if (opts.incidentsConfig) writeFileSync(incidentsFile, opts.incidentsConfig);
    const common: NodeJS.ProcessEnv = {
      ...process.env,
      TEMPORAL_ADDRESS: temporal.server.address,
      TEMPORAL_NAMESPACE: temporal.server.namespace,
      CEDILLE_TASK_QUEUE: taskQueue,
      DATABASE_URL: databaseUrl,
      CEDILLE_LINK_SECRET: linkSecret,
      CEDILLE_NOTIFY_CONFIG: notifyFile,
      LOG_LEVEL: 'warn',
      ...opts.env,
    };
    const apis: ApiProcess[] = [];
    for (let i = 0; i < (opts.apis ?? 2); i++) {
      const port = await freePort();
      const env = {
        ...common,
        LOG_LEVEL: 'info', // its "Server listening at" line says it serves
        API_HOST: '127.0.0.1',
        API_PORT: String(port),
        CEDILLE_DATA_DIR: mkdtempSync(join(scratch, `api-${i}-`)),
        CEDILLE_DEV_TOKENS: '0',
        CEDILLE_API_TOKENS_FILE: tokensFile,
        API_PUBLIC_URL: `http://127.0.0.1:${port}`,
        ...(opts.incidentsConfig ? { CEDILLE_INCIDENTS_CONFIG: incidentsFile } : {}),
      };
      apis.push({ ...processOf(`api-${i}`, 'api/main.ts', env, /Server listening at/), url: `http://127.0.0.1:${port}` });
    }
    const workerOf = (repo: string, name: string) => {
      const p = processOf(name, 'worker/main.ts', { ...common, CEDILLE_DATA_DIR: mkdtempSync(join(scratch, `${name}-`)) }, /worker polling/, repo);
      started.push(p);
      return p;
    };
    const workers = Array.from({ length: opts.workers ?? 2 }, (_, i) => workerOf(REPO, `worker-${i}`));
    // One at a time: the first start migrates the platform database; two at once are covered by test/api/database.test.ts.
    started.push(...apis);
    for (const p of [...workers, ...apis]) await p.start();
    const dataConverter = dataConverterFromEnv();
    const client = new Client({ connection: await Connection.connect({ address: temporal.server.address }), namespace: temporal.server.namespace, ...(dataConverter ? { dataConverter } : {}) });
    return {
      temporal,
      databaseUrl,
      taskQueue,
      linkSecret,
      client,
      apis,
      workers,
      token: (who) => tokens[who],
      workerOf,
      async close() {
        await client.connection.close();
        await Promise.all(started.map((p) => p.kill()));
        await temporal.stop();
      },
    };
  } catch (err) {
    await Promise.all(started.map((p) => p.kill()));
    await temporal.stop();
    throw err;
  }
}

/** What the topology tests read of API answers. */
export interface ApiAnswer {
  definition?: { name: string; hash: string };
  definitions?: { name: string; hash: string }[];
  run?: { id: string };
  entries?: { action: string }[];
}

/** A JSON request to an API of the topology; the body is parsed when it is JSON (else `{}`). */
export async function call(api: ApiProcess, token: string, method: string, path: string, body?: unknown): Promise<{ status: number; json: ApiAnswer; text: string }> {
  const res = await fetch(`${api.url}${path}`, {
    method,
    headers: { authorization: `Bearer ${token}`, ...(body !== undefined ? { 'content-type': 'application/json' } : {}) },
    ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
  });
  const text = await res.text();
  let json: ApiAnswer = {};
  try {
    json = JSON.parse(text) as ApiAnswer;
  } catch {
    // not JSON: the text tells
  }
  return { status: res.status, json, text };
}
