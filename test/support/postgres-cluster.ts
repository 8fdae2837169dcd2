// A throwaway PostgreSQL cluster for tests: initdb in a temp dir owned by `postgres`, listening on
// 127.0.0.1 on a free port with trust auth, stopped and removed by stop(). Kept in this one file so
// it can be swapped for the project's shared helper. `sharedPostgresCluster()`: one per test process,
// stopped when the process exits (CEDILLE_TEST_DATABASE=postgres runs the API suites on it).
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';

const BIN = '/usr/lib/postgresql/15/bin';

export interface PostgresCluster {
  /** URL of a fresh database created for the caller. */
  createDatabase(name: string): Promise<string>;
  stop(): Promise<void>;
  stopSync(): void;
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address() as { port: number };
      srv.close(() => resolve(port));
    });
  });
}

function asPostgres(cmd: string, args: string[]): void {
  execFileSync('runuser', ['-u', 'postgres', '--', join(BIN, cmd), ...args], { stdio: ['ignore', 'ignore', 'pipe'] });
}

export async function startPostgresCluster(): Promise<PostgresCluster> {
  const root = mkdtempSync(join(tmpdir(), 'cedille-pg-'));
  execFileSync('chown', ['postgres:postgres', root]);
  const data = join(root, 'data');
  const port = await freePort();
  asPostgres('initdb', ['-D', data, '-U', 'postgres', '--auth=trust', '--no-sync', '-E', 'UTF8']);
  asPostgres('pg_ctl', ['-D', data, '-l', join(root, 'log'), '-w', '-o', `-c listen_addresses=127.0.0.1 -c port=${port} -c unix_socket_directories=${root} -c fsync=off`, 'start']);
  const stopSync = () => {
    asPostgres('pg_ctl', ['-D', data, '-m', 'immediate', '-w', 'stop']);
    rmSync(root, { recursive: true, force: true });
  };
  const url = (db: string) => `postgres://postgres@127.0.0.1:${port}/${db}`;
  return {
    async createDatabase(name) {
      const client = new pg.Client({ connectionString: url('postgres') });
      await client.connect();
      try {
        await client.query(`CREATE DATABASE "${name}"`);
      } finally {
        await client.end();
      }
      return url(name);
    },
    stop: async () => stopSync(),
    stopSync,
  };
}

let shared: Promise<PostgresCluster> | undefined;

export function sharedPostgresCluster(): Promise<PostgresCluster> {
  shared ??= startPostgresCluster().then((cluster) => {
    process.once('exit', () => cluster.stopSync());
    return cluster;
  });
  return shared;
}
