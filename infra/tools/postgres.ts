// A throwaway PostgreSQL for tests: Debian's packages (installed with apt-get when `initdb` is missing),
// a fresh cluster made with `initdb` in a temp dir, listening on 127.0.0.1 and a free port only, one
// password-authenticated superuser role, torn down (server stopped, data dir removed) by stop().
// PostgreSQL refuses to run as root: as root, every server-side command runs as the `postgres` user
// (Debian's package creates it), and the temp dir is handed to that user.
import { execFile, execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { chownSync, existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { onPath } from './pip-tool.ts';
import { run, say } from './run.ts';
import { freePort } from './temporal-dev-server.ts';

export interface PostgresBinaries {
  initdb: string;
  pgCtl: string;
  psql: string;
}

/** Debian keeps the server binaries in /usr/lib/postgresql/<major>/bin (only some are symlinked on PATH). */
function findBinDir(env: NodeJS.ProcessEnv): string | undefined {
  if (env.POSTGRES_BIN_DIR) return env.POSTGRES_BIN_DIR;
  const onPathInitdb = onPath('initdb', env);
  if (onPathInitdb && onPath('pg_ctl', env) && onPath('psql', env)) return undefined;
  const root = '/usr/lib/postgresql';
  if (!existsSync(root)) return undefined;
  const majors = readdirSync(root).filter((d) => /^\d+$/.test(d)).sort((a, b) => Number(b) - Number(a));
  return majors.map((m) => join(root, m, 'bin')).find((d) => existsSync(join(d, 'initdb')));
}

function binaries(env: NodeJS.ProcessEnv): PostgresBinaries | undefined {
  const dir = findBinDir(env);
  const pick = (name: string) => (dir ? [join(dir, name)].find(existsSync) : undefined) ?? onPath(name, env);
  const initdb = pick('initdb');
  const pgCtl = pick('pg_ctl');
  const psql = pick('psql');
  return initdb && pgCtl && psql ? { initdb, pgCtl, psql } : undefined;
}

/** The PostgreSQL binaries: $POSTGRES_BIN_DIR, PATH, /usr/lib/postgresql/<newest>/bin, or Debian's `postgresql` installed now. */
export async function ensurePostgres(env = process.env): Promise<PostgresBinaries> {
  const found = binaries(env);
  if (found) return found;
  if (process.getuid?.() !== 0) throw new Error("PostgreSQL is missing: install Debian's `postgresql` package or set POSTGRES_BIN_DIR");
  say("installing Debian's postgresql package (the database of the real Temporal server in tests)");
  const aptEnv = { ...env, DEBIAN_FRONTEND: 'noninteractive' };
  // Only the binaries are wanted: without this, the package creates and starts a system cluster on 5432.
  mkdirSync('/etc/postgresql-common/createcluster.d', { recursive: true });
  writeFileSync('/etc/postgresql-common/createcluster.d/cedille-no-main-cluster.conf', 'create_main_cluster = false\n');
  await run('apt-get', ['update', '-qq'], { env: aptEnv });
  await run('apt-get', ['install', '-y', '-qq', '--no-install-recommends', 'postgresql'], { env: aptEnv });
  const installed = binaries(env);
  if (!installed) throw new Error('apt-get installed postgresql but initdb/pg_ctl/psql are not found');
  return installed;
}

export interface Postgres {
  /** postgres://<user>:<password>@127.0.0.1:<port>/postgres */
  url: string;
  host: string;
  port: number;
  /** A superuser role with password authentication over TCP. */
  user: string;
  password: string;
  /** `url` with another database name. */
  urlFor(database: string): string;
  /** CREATE DATABASE (owned by `user`) unless it exists. */
  createDatabase(name: string): Promise<void>;
  /** Runs SQL with psql (ON_ERROR_STOP) in `database` and returns its unaligned, tuples-only output. */
  query(sql: string, database?: string): Promise<string>;
  /**
   * Stops the server (fast shutdown, or `immediate`: no checkpoint, crash recovery at the next start;
   * nothing if already killed) and starts it again on the same port and data.
   */
  restart(mode?: 'fast' | 'immediate'): Promise<void>;
  /** Stops the server and removes its files; safe to call twice. */
  stop(): Promise<void>;
}

/** Runs a command to completion and returns its stdout; the error carries its stderr. */
async function exec(cmd: string, args: string[], extraEnv: NodeJS.ProcessEnv = {}): Promise<string> {
  try {
    return (await promisify(execFile)(cmd, args, { encoding: 'utf8', env: { ...process.env, ...extraEnv } })).stdout;
  } catch (err) {
    const { stderr, stdout } = err as { stderr?: string; stdout?: string };
    throw new Error(`${[cmd, ...args.slice(0, 4)].join(' ')}…: ${stderr || stdout || (err as Error).message}`.trim(), { cause: err });
  }
}

function postgresUser(): { uid: number; gid: number } {
  const id = (flag: string) => Number(execFileSync('id', [flag, 'postgres'], { encoding: 'utf8' }).trim());
  try {
    return { uid: id('-u'), gid: id('-g') };
  } catch {
    throw new Error('running as root, PostgreSQL needs the `postgres` user (Debian\'s postgresql package creates it)');
  }
}

export async function startPostgres(opts: { port?: number; user?: string } = {}): Promise<Postgres> {
  const bins = await ensurePostgres();
  const asRoot = process.getuid?.() === 0;
  // runuser keeps the environment; PostgreSQL's server-side commands only need to not be root.
  const serverSide = (cmd: string, args: string[]) => (asRoot ? exec('runuser', ['-u', 'postgres', '--', cmd, ...args]) : exec(cmd, args));

  const dir = mkdtempSync(join(tmpdir(), 'cedille-postgres-'));
  const data = join(dir, 'data');
  const log = join(dir, 'postgres.log');
  const port = opts.port ?? (await freePort());
  const user = opts.user ?? 'cedille';
  const password = randomBytes(18).toString('base64url');
  const pwfile = join(dir, 'pwfile');
  writeFileSync(pwfile, `${password}\n`, { mode: 0o600 });
  if (asRoot) {
    const { uid, gid } = postgresUser();
    chownSync(dir, uid, gid);
    chownSync(pwfile, uid, gid);
  }
  const logTail = () => (existsSync(log) ? readFileSync(log, 'utf8').slice(-4000) : '(no log)');
  let running = false;
  const ctl = async (action: 'start' | 'stop', mode = 'fast') => {
    if (action === 'start') {
      // Socket in the private temp dir: no clash with a system cluster's /var/run/postgresql.
      const options = `-c listen_addresses=127.0.0.1 -p ${port} -c unix_socket_directories=${dir} -c fsync=off`;
      await serverSide(bins.pgCtl, ['start', '-D', data, '-l', log, '-w', '-t', '60', '-o', options]);
      running = true;
    } else {
      await serverSide(bins.pgCtl, ['stop', '-D', data, '-m', mode, '-w', '-t', '60']);
      running = false;
    }
  };
  /** The postmaster of postmaster.pid (its first line) still exists. */
  const postmasterAlive = () => {
    const pidFile = join(data, 'postmaster.pid');
    if (!existsSync(pidFile)) return false;
    const pid = Number(readFileSync(pidFile, 'utf8').split('\n')[0]);
    // A killed postmaster lingers as a zombie until init reaps it: that is not alive.
    const stat = `/proc/${pid}/stat`;
    if (existsSync('/proc/self/stat')) return existsSync(stat) && !/^\d+ \(.*\) Z /.test(readFileSync(stat, 'utf8'));
    try {
      process.kill(pid, 0);
      return true;
    } catch (err) {
      return (err as NodeJS.ErrnoException).code === 'EPERM';
    }
  };
  const stop = async () => {
    try {
      // A server already gone (killed by a test, or by the terminal's Ctrl-C) leaves only files to remove.
      if (running) await ctl('stop').catch(() => ctl('stop', 'immediate')).catch((err: Error) => {
        if (postmasterAlive()) throw err;
      });
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  };

  try {
    await serverSide(bins.initdb, ['-D', data, '-U', user, `--pwfile=${pwfile}`, '--auth-host=scram-sha-256', '--auth-local=scram-sha-256', '-E', 'UTF8', '--locale=C']);
    rmSync(pwfile);
    await ctl('start');
  } catch (err) {
    const detail = logTail();
    await stop();
    throw new Error(`PostgreSQL did not start on 127.0.0.1:${port}: ${(err as Error).message}\n${detail}`, { cause: err });
  }

  const host = '127.0.0.1';
  const urlFor = (database: string) => `postgres://${encodeURIComponent(user)}:${encodeURIComponent(password)}@${host}:${port}/${encodeURIComponent(database)}`;
  // The password goes through the environment, not argv.
  const query = async (sql: string, database = 'postgres') =>
    (await exec(bins.psql, ['-X', '-q', '-A', '-t', '-v', 'ON_ERROR_STOP=1', '-h', host, '-p', String(port), '-U', user, '-d', database, '-c', sql], { PGPASSWORD: password })).trim();
  const quoteIdent = (name: string) => `"${name.replaceAll('"', '""')}"`;
  return {
    url: urlFor('postgres'),
    host,
    port,
    user,
    password,
    urlFor,
    query,
    async createDatabase(name) {
      const exists = await query(`SELECT 1 FROM pg_database WHERE datname = '${name.replaceAll("'", "''")}'`);
      if (!exists) await query(`CREATE DATABASE ${quoteIdent(name)} OWNER ${quoteIdent(user)}`);
    },
    async restart(mode = 'fast') {
      if (postmasterAlive()) await ctl('stop', mode);
      // After a kill its lock files remain, and PostgreSQL takes a not yet reaped zombie for a live server.
      else for (const lock of [join(data, 'postmaster.pid'), join(dir, `.s.PGSQL.${port}.lock`)]) rmSync(lock, { force: true });
      await ctl('start');
    },
    stop,
  };
}
