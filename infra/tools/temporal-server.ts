// The production Temporal server (`go.temporal.io/server`) on PostgreSQL, for tests: the server and its
// SQL schema tool, built at the pinned version into the tools cache with one `go install`, plus the
// module's PostgreSQL schema files (copied next to the binaries, so the build does not depend on the Go
// module cache staying around). startTemporalServer() applies the schemas, runs the server with the
// project's config file (infra/temporal/config/temporal.yaml, rendered by the server from env vars, as
// a deployment runs it), registers the namespace and the search attributes, and stops it on demand.
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { chmodSync, closeSync, cpSync, existsSync, mkdtempSync, openSync, readFileSync, readdirSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { Connection } from '@temporalio/client';
import { msToTs } from '@temporalio/common';
import { buildInto, goBinary } from './go-build.ts';
import { toolsDir } from './paths.ts';
import type { Postgres } from './postgres.ts';
import { stopGroup } from './local-process.ts';
import { run, say } from './run.ts';
import { DEV_SERVER_DYNAMIC_CONFIG } from './temporal-dev-server.ts';
import { TOOL_VERSIONS } from './versions.ts';
import { ensureSearchAttributes } from '../../worker/search-attributes.ts';

const MODULE = 'go.temporal.io/server';

export interface TemporalServerTools {
  /** The `server` binary (`temporal-server`). */
  server: string;
  /** `temporal-sql-tool` (cmd/tools/sql). */
  sqlTool: string;
  /** `schema/postgresql/v12` of the module: `temporal/` and `visibility/`, each with `versioned/`. */
  schemaDir: string;
}

export function pinnedTemporalServerDir(env = process.env): string {
  return join(toolsDir(env), `temporal-server-${TOOL_VERSIONS.temporalServer}`);
}

function toolsIn(dir: string): TemporalServerTools {
  return { server: join(dir, 'temporal-server'), sqlTool: join(dir, 'temporal-sql-tool'), schemaDir: join(dir, 'schema', 'postgresql', 'v12') };
}

/** Builds once (a marker file says it completed); afterwards runs no Go and touches no network. */
export async function ensureTemporalServer(env = process.env): Promise<TemporalServerTools> {
  const dir = pinnedTemporalServerDir(env);
  if (existsSync(join(dir, '.installed'))) return toolsIn(dir);
  const go = goBinary(env, 'the Temporal server');
  const version = `v${TOOL_VERSIONS.temporalServer}`;
  const what = `temporal-server ${version}`;
  // GOFLAGS cleared: a -mod=vendor or similar from the caller's environment must not leak into a module-mode install.
  const goEnv = { ...env, CGO_ENABLED: '0', GOFLAGS: '' };
  say(`building ${what} and temporal-sql-tool (go install ${MODULE}/cmd/...) into ${dir}; the first build downloads modules and compiles for ~4 min on 2 cores`);
  await buildInto(dir, what, async (tmp) => {
    await run(go, ['install', '-trimpath', '-ldflags', '-s -w', `${MODULE}/cmd/server@${version}`, `${MODULE}/cmd/tools/sql@${version}`], {
      env: { ...goEnv, GOBIN: tmp },
      cwd: tmp, // outside any go.mod: `go install pkg@version` and `go mod download` act on the module alone
    });
    renameSync(join(tmp, 'server'), join(tmp, 'temporal-server'));
    renameSync(join(tmp, 'sql'), join(tmp, 'temporal-sql-tool'));
    const { stdout } = await promisify(execFile)(go, ['mod', 'download', '-json', `${MODULE}@${version}`], { env: goEnv, cwd: tmp });
    const moduleDir = (JSON.parse(stdout) as { Dir: string }).Dir;
    const schema = join(tmp, 'schema', 'postgresql');
    cpSync(join(moduleDir, 'schema', 'postgresql'), schema, { recursive: true });
    // The module cache is read-only; the copy must stay removable (a rebuild replaces the whole dir).
    for (const entry of ['', ...readdirSync(schema, { recursive: true, encoding: 'utf8' })]) {
      const path = join(schema, entry);
      chmodSync(path, statSync(path).isDirectory() ? 0o755 : 0o644);
    }
  });
  return toolsIn(dir);
}

/** The server's config file, kept in the repository as the deployment uses it. */
export const TEMPORAL_SERVER_CONFIG_FILE = fileURLToPath(new URL('../temporal/config/temporal.yaml', import.meta.url));

/**
 * The dynamic config of the servers tests run: the dev server's overrides (rate limits, history limit),
 * and search attributes read from the database on every read, so one registered a moment ago is usable
 * at once (the dev server does the same).
 */
export function temporalServerDynamicConfig(extra: string[] = []): string {
  const entries = new Map<string, string>();
  for (const kv of [...DEV_SERVER_DYNAMIC_CONFIG, 'system.forceSearchAttributesCacheRefreshOnRead=true', ...extra]) {
    const at = kv.indexOf('=');
    entries.set(kv.slice(0, at), kv.slice(at + 1));
  }
  const yamlValue = (v: string) => (/^(-?\d+(\.\d+)?|true|false)$/.test(v) ? v : JSON.stringify(v));
  return [...entries].map(([key, value]) => `${key}:\n  - value: ${yamlValue(value)}\n`).join('');
}

/** With an authorizer, the server's own system workers go through the internal frontend (not started by default). */
const AUTHORIZED_SERVICES = ['frontend', 'internal-frontend', 'history', 'matching', 'worker'];

export interface TemporalServerOptions {
  postgres: Postgres;
  namespace?: string;
  /** Databases of persistence and visibility (created and migrated here). */
  database?: string;
  visibilityDatabase?: string;
  /** Where the dynamic config and the log go (default: a new temp dir, removed by stop(), kept if the start fails). */
  dir?: string;
  numHistoryShards?: number;
  /** Extra dynamic config `key=value` entries (after the defaults, so they win). */
  dynamicConfig?: string[];
  logLevel?: 'debug' | 'info' | 'warn' | 'error';
  /** Ready within this (default 120 s) or fail with the log's tail. */
  timeoutMs?: number;
  /**
   * Temporal's JWT authorizer on: tokens signed by a key of `jwksUrl`; `adminToken` (permissions
   * `temporal-system:admin`) is what the start-up itself uses to register the namespace and search
   * attributes. Without it the server runs with --allow-no-auth.
   */
  authorization?: { jwksUrl: string; adminToken: string };
}

export interface TemporalServer {
  /** host:port of the frontend. */
  address: string;
  namespace: string;
  process: ChildProcess;
  /** The server's stdout + stderr. */
  logFile: string;
  database: string;
  visibilityDatabase: string;
  /** Stops the process (SIGTERM, SIGKILL after 15 s) and starts it again on the same ports and databases. */
  restart(): Promise<void>;
  /** Stops the process group; safe to call twice. */
  stop(): Promise<void>;
}

/** Creates `database` and brings its schema (temporal or visibility) to the latest version with temporal-sql-tool. */
async function setupSchema(tools: TemporalServerTools, pg: Postgres, database: string, schema: 'temporal' | 'visibility'): Promise<void> {
  const env = {
    ...process.env,
    SQL_PLUGIN: 'postgres12',
    SQL_HOST: pg.host,
    SQL_PORT: String(pg.port),
    SQL_USER: pg.user,
    SQL_PASSWORD: pg.password,
    SQL_DATABASE: database,
  };
  const tool = async (...args: string[]) => {
    try {
      await promisify(execFile)(tools.sqlTool, args, { env });
    } catch (err) {
      const { stdout = '', stderr = '' } = err as { stdout?: string; stderr?: string };
      throw new Error(`temporal-sql-tool ${args.join(' ')} on ${database} failed:\n${`${stdout}${stderr}`.slice(-4000)}`, { cause: err });
    }
  };
  await tool('create-database');
  await tool('setup-schema', '-v', '0.0');
  await tool('update-schema', '-d', join(tools.schemaDir, schema, 'versioned'));
}

/** Resolves once the frontend answers, the namespace exists and a history shard answers for it. */
async function waitReady(address: string, namespace: string, deadline: number, exited: () => string | undefined, token?: string): Promise<void> {
  let registered = false;
  for (;;) {
    const exit = exited();
    if (exit) throw new Error(`the server exited (${exit})`);
    try {
      const conn = await Connection.connect({ address, connectTimeout: 2000, ...(token ? { metadata: { authorization: `Bearer ${token}` } } : {}) });
      try {
        // Each attempt is bounded: a server still starting may accept a call and not answer it.
        await conn.withDeadline(Math.min(deadline, Date.now() + 5000), async () => {
          if (!registered) {
            await conn.workflowService
              .registerNamespace({ namespace, workflowExecutionRetentionPeriod: msToTs('1 day') })
              .catch((err: { code?: number }) => {
                if (err.code !== 6) throw err; // ALREADY_EXISTS: a restart, or a retry after a lost answer
              });
            registered = true;
          }
          await conn.workflowService.describeNamespace({ namespace });
          // Goes through to the history shard of this id: NOT_FOUND means the shard is owned and answers.
          const probe = await conn.workflowService
            .describeWorkflowExecution({ namespace, execution: { workflowId: 'cedille-readiness-probe' } })
            .then(() => 5, (err: { code?: number }) => err.code);
          if (probe !== 5) throw new Error(`history not ready (gRPC code ${probe})`);
          await ensureSearchAttributes(conn, namespace);
        });
        return;
      } finally {
        await conn.close();
      }
    } catch (err) {
      if (Date.now() > deadline) throw err;
      await new Promise((r) => setTimeout(r, 250));
    }
  }
}

/**
 * A free loopback port below 32768: the PostgreSQL schema keeps membership ports in a SMALLINT column
 * (`cluster_membership.rpc_port`), so an ephemeral port (32768+) makes the server exit at start.
 */
async function freeLowPort(taken: Set<number>): Promise<number> {
  for (let attempt = 0; attempt < 200; attempt++) {
    const port = 20_000 + Math.floor(Math.random() * 12_000);
    if (taken.has(port)) continue;
    const free = await new Promise<boolean>((resolve) => {
      const srv = createServer();
      srv.unref();
      srv.once('error', () => resolve(false));
      srv.listen(port, '127.0.0.1', () => srv.close(() => resolve(true)));
    });
    if (free) {
      taken.add(port);
      return port;
    }
  }
  throw new Error('no free loopback port between 20000 and 32000');
}

export async function startTemporalServer(opts: TemporalServerOptions): Promise<TemporalServer> {
  const tools = await ensureTemporalServer();
  const pg = opts.postgres;
  const namespace = opts.namespace ?? 'default';
  const database = opts.database ?? 'temporal';
  const visibilityDatabase = opts.visibilityDatabase ?? 'temporal_visibility';
  const dir = opts.dir ?? mkdtempSync(join(tmpdir(), 'cedille-temporal-server-'));
  const ownDir = !opts.dir;
  const logFile = join(dir, 'temporal-server.log');
  const dynamicConfigFile = join(dir, 'dynamicconfig.yaml');
  writeFileSync(dynamicConfigFile, temporalServerDynamicConfig(opts.dynamicConfig));
  await setupSchema(tools, pg, database, 'temporal');
  await setupSchema(tools, pg, visibilityDatabase, 'visibility');

  const taken = new Set<number>();
  const port = async () => String(await freeLowPort(taken));
  const frontendPort = await port();
  const serverEnv: NodeJS.ProcessEnv = {
    ...process.env,
    TEMPORAL_POSTGRES_HOST: pg.host,
    TEMPORAL_POSTGRES_PORT: String(pg.port),
    TEMPORAL_POSTGRES_USER: pg.user,
    TEMPORAL_POSTGRES_PASSWORD: pg.password,
    TEMPORAL_DB: database,
    TEMPORAL_VISIBILITY_DB: visibilityDatabase,
    TEMPORAL_NUM_HISTORY_SHARDS: String(opts.numHistoryShards ?? 4),
    TEMPORAL_BIND_IP: '127.0.0.1',
    TEMPORAL_BROADCAST_ADDRESS: '127.0.0.1',
    TEMPORAL_FRONTEND_PORT: frontendPort,
    TEMPORAL_FRONTEND_HTTP_PORT: await port(),
    TEMPORAL_FRONTEND_MEMBERSHIP_PORT: await port(),
    TEMPORAL_HISTORY_PORT: await port(),
    TEMPORAL_HISTORY_MEMBERSHIP_PORT: await port(),
    TEMPORAL_MATCHING_PORT: await port(),
    TEMPORAL_MATCHING_MEMBERSHIP_PORT: await port(),
    TEMPORAL_WORKER_PORT: await port(),
    TEMPORAL_WORKER_MEMBERSHIP_PORT: await port(),
    TEMPORAL_DYNAMIC_CONFIG_FILE: dynamicConfigFile,
    TEMPORAL_LOG_LEVEL: opts.logLevel ?? 'warn',
    ...(opts.authorization
      ? {
          TEMPORAL_AUTH_JWKS_URL: opts.authorization.jwksUrl,
          TEMPORAL_INTERNAL_FRONTEND_PORT: await port(),
          TEMPORAL_INTERNAL_FRONTEND_HTTP_PORT: await port(),
          TEMPORAL_INTERNAL_FRONTEND_MEMBERSHIP_PORT: await port(),
        }
      : {}),
  };
  const address = `127.0.0.1:${frontendPort}`;

  let child: ChildProcess;
  let exited: Promise<void>;
  const launch = () => {
    const log = openSync(logFile, 'a');
    // --allow-no-auth: tests run without an authorizer unless they ask for one (a deployment configures it).
    const args = opts.authorization ? ['start', ...AUTHORIZED_SERVICES.flatMap((s) => ['--service', s])] : ['--allow-no-auth', 'start'];
    child = spawn(tools.server, ['--config-file', TEMPORAL_SERVER_CONFIG_FILE, ...args], {
      stdio: ['ignore', log, log],
      detached: true,
      env: serverEnv,
    });
    closeSync(log);
    exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  };
  const stop = () => stopGroup(child, exited, 15_000);
  const ready = async () => {
    const timeoutMs = opts.timeoutMs ?? 120_000;
    try {
      await waitReady(address, namespace, Date.now() + timeoutMs, () => (child.exitCode ?? child.signalCode ?? undefined)?.toString(), opts.authorization?.adminToken);
    } catch (err) {
      await stop();
      const tail = existsSync(logFile) ? readFileSync(logFile, 'utf8').slice(-6000) : '(no log)';
      throw new Error(`temporal-server on ${address} not ready within ${timeoutMs / 1000} s: ${(err as Error).message}\n${logFile}:\n${tail}`, { cause: err });
    }
  };

  launch();
  await ready();
  return {
    address,
    namespace,
    get process() {
      return child;
    },
    logFile,
    database,
    visibilityDatabase,
    async restart() {
      await stop();
      launch();
      await ready();
    },
    async stop() {
      await stop();
      if (ownDir) rmSync(dir, { recursive: true, force: true });
    },
  };
}
