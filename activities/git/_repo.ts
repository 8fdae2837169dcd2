// The git side of the git.* activities: the real `git` CLI (child_process, no library) on a cached
// bare clone per remote, kept in the worker's work dir (CEDILLE_GIT_WORKDIR, default <tmp>/cedille-git).
// Every operation fetches first and works with plumbing (temporary index, write-tree, commit-tree):
// there is no work tree to get dirty, and nothing from an earlier failed attempt leaks into the next.
// Operations on one clone are serialized: in-process by a promise chain, across processes by a lock
// file (a worker restarted after a crash steals the lock of its dead predecessor).
//
// Worker configuration (environment):
//   CEDILLE_GIT_WORKDIR                          where the clones live
//   CEDILLE_GIT_AUTHOR_NAME, CEDILLE_GIT_AUTHOR_EMAIL  author and committer of the commits (default
//                                                "Cédille Workflows" <workflows@cedille.invalid>)
//   CEDILLE_GIT_TOKEN or CEDILLE_GIT_TOKEN_FILE  token for http(s) remotes (GitHub), sent as an
//                                                `http.<origin>/.extraHeader` through GIT_CONFIG_* environment
//                                                variables: never in argv, URLs, outputs or logs
//   CEDILLE_GIT_TOKEN_HOSTS                      hosts the token is sent to (comma-separated, default github.com):
//                                                a definition naming another server does not receive it
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import { open, readFile, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { isAbsolute, join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { ApplicationFailure } from '@temporalio/common';

export interface Person {
  name: string;
  email: string;
}

export interface GitSettings {
  workdir: string;
  author: Person;
  token?: string;
  /** Hosts (`host` or `host:port`) the token is sent to. */
  tokenHosts?: string[];
}

export function gitSettings(env: NodeJS.ProcessEnv = process.env): GitSettings {
  const tokenFile = env.CEDILLE_GIT_TOKEN_FILE;
  const token = env.CEDILLE_GIT_TOKEN || (tokenFile ? readFileSync(tokenFile, 'utf8').trim() : undefined);
  return {
    workdir: env.CEDILLE_GIT_WORKDIR || join(tmpdir(), 'cedille-git'),
    author: { name: env.CEDILLE_GIT_AUTHOR_NAME || 'Cédille Workflows', email: env.CEDILLE_GIT_AUTHOR_EMAIL || 'workflows@cedille.invalid' },
    ...(token ? { token } : {}),
    tokenHosts: (env.CEDILLE_GIT_TOKEN_HOSTS || 'github.com').split(',').map((h) => h.trim().toLowerCase()).filter(Boolean),
  };
}

/** A remote as git should see it: URLs unchanged, local paths absolute. Credentials in a URL are refused. */
export function normalizeRemote(remote: string): string {
  if (/^[a-z][a-z0-9+.-]*:\/\//i.test(remote)) {
    const url = new URL(remote);
    if (url.username || url.password) {
      throw ApplicationFailure.create({ message: 'git: credentials in a repository URL are not accepted: configure CEDILLE_GIT_TOKEN on the worker', type: 'GitInvalidInput', nonRetryable: true });
    }
    return remote;
  }
  if (/^[\w.-]+@[\w.-]+:/.test(remote)) return remote; // scp-like ssh
  return isAbsolute(remote) ? remote : resolve(remote);
}

/** What a remote is called in messages: the URL without query/credentials, or the path. */
export function displayRemote(remote: string): string {
  return remote.replace(/\?.*$/, '');
}

export class GitCommandError extends Error {
  constructor(
    readonly args: string[],
    readonly code: number | null,
    readonly stderr: string,
    readonly stdout: string,
  ) {
    super(`git ${args[0] ?? ''} exited with ${code}: ${stderr.trim().split('\n').slice(-3).join(' | ')}`);
  }
}

export interface RunOptions {
  cwd?: string;
  env?: Record<string, string>;
  input?: string | Buffer;
  signal?: AbortSignal;
}

/** What runGit spawns: git, and ssh that git runs for ssh remotes (GIT_SSH_COMMAND). The app image installs both. */
export const SPAWNED_BINARIES = ['git', 'ssh'] as const;

/** Runs git; resolves stdout (Buffer), rejects with GitCommandError on a non-zero exit. */
export function runGit(args: string[], opts: RunOptions = {}): Promise<Buffer> {
  return new Promise((resolvePromise, reject) => {
    const child = spawn('git', args, {
      cwd: opts.cwd,
      env: {
        ...process.env,
        GIT_TERMINAL_PROMPT: '0',
        GIT_ASKPASS: 'true',
        SSH_ASKPASS: 'true',
        GIT_CONFIG_NOSYSTEM: '1',
        // Only these transports (no ext::, fd::: a repository name must never run a command).
        GIT_ALLOW_PROTOCOL: 'file:http:https:ssh:git',
        // ssh never asks anything on a terminal (host keys must be known, keys unencrypted or in an agent).
        GIT_SSH_COMMAND: process.env.GIT_SSH_COMMAND ?? 'ssh -o BatchMode=yes',
        LC_ALL: 'C',
        ...opts.env,
      },
      stdio: ['pipe', 'pipe', 'pipe'],
      signal: opts.signal,
    });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    child.stdout.on('data', (c: Buffer) => out.push(c));
    child.stderr.on('data', (c: Buffer) => err.push(c));
    child.on('error', reject);
    child.on('close', (code) => {
      const stdout = Buffer.concat(out);
      if (code === 0) resolvePromise(stdout);
      else reject(new GitCommandError(args, code, Buffer.concat(err).toString('utf8'), stdout.toString('utf8')));
    });
    child.stdin.on('error', () => undefined);
    child.stdin.end(opts.input ?? '');
  });
}

const UNAVAILABLE = [
  /does not appear to be a git repository/i,
  /could not read from remote repository/i,
  /repository .* not found/i,
  /unable to access/i,
  /could not resolve host/i,
  /connection (refused|reset|timed out)/i,
  /failed to connect/i,
  /the remote end hung up/i,
  /early eof/i,
  /returned error: 50[0234]/i,
];
const AUTH = [/authentication failed/i, /returned error: 40[13]/i, /permission denied/i, /could not read username/i, /invalid credentials/i];

/** The ApplicationFailure for a failed git command talking to `remote` (`what` names the operation). */
export function gitFailure(err: unknown, what: string): ApplicationFailure {
  if (err instanceof ApplicationFailure) return err;
  if (err instanceof GitCommandError) {
    const text = err.stderr.trim() || err.message;
    const message = `${what}: ${text.split('\n').filter((l) => l.trim()).slice(-4).join(' | ')}`;
    if (AUTH.some((re) => re.test(text))) {
      return ApplicationFailure.create({ message, type: 'GitAuthFailed', nonRetryable: true });
    }
    if (UNAVAILABLE.some((re) => re.test(text))) return ApplicationFailure.create({ message, type: 'GitRemoteUnavailable', nonRetryable: false });
    return ApplicationFailure.create({ message, type: 'GitError', nonRetryable: false });
  }
  const e = err instanceof Error ? err : new Error(String(err));
  return ApplicationFailure.create({ message: `${what}: ${e.message}`, type: 'GitError', nonRetryable: false, cause: e });
}

// ---- locking -------------------------------------------------------------------------------------

const chains = new Map<string, Promise<unknown>>();

function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

const STALE_LOCK_MS = 10 * 60_000;

async function acquireFileLock(path: string, signal?: AbortSignal): Promise<() => Promise<void>> {
  for (let i = 0; ; i++) {
    signal?.throwIfAborted();
    try {
      const fh = await open(path, 'wx');
      await fh.writeFile(`${process.pid}\n`);
      await fh.close();
      return () => rm(path, { force: true });
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
    }
    // Held: steal it when its owner is gone (crashed worker) or it is very old.
    try {
      const [text, st] = await Promise.all([readFile(path, 'utf8'), stat(path)]);
      const pid = Number(text.trim());
      const stale = (pid > 0 && pid !== process.pid && !pidAlive(pid)) || Date.now() - st.mtimeMs > STALE_LOCK_MS;
      if (stale) {
        await rm(path, { force: true });
        continue;
      }
    } catch {
      // vanished between open and read: retry at once
      continue;
    }
    await new Promise((r) => setTimeout(r, Math.min(25 * 2 ** Math.min(i, 4), 400)));
  }
}

/** Runs `fn` holding the lock of `key` (in this process and, through `lockFile`, across processes). */
async function locked<T>(key: string, lockFile: string, fn: () => Promise<T>, signal?: AbortSignal): Promise<T> {
  const prev = chains.get(key) ?? Promise.resolve();
  const run = prev.catch(() => undefined).then(async () => {
    const release = await acquireFileLock(lockFile, signal);
    try {
      return await fn();
    } finally {
      await release();
    }
  });
  const tail = run.catch(() => undefined);
  chains.set(key, tail);
  void tail.then(() => {
    if (chains.get(key) === tail) chains.delete(key);
  });
  return run;
}

// ---- the cached clone -----------------------------------------------------------------------------

export interface Repo {
  /** The bare clone. */
  dir: string;
  remote: string;
  settings: GitSettings;
  /** git in the clone, with the credentials of the remote. */
  git(args: string[], opts?: Omit<RunOptions, 'cwd'>): Promise<Buffer>;
  /** git, stdout as trimmed text. */
  text(args: string[], opts?: Omit<RunOptions, 'cwd'>): Promise<string>;
}

function credentialEnv(remote: string, settings: GitSettings): Record<string, string> {
  const token = settings.token;
  if (!token || !/^https?:\/\//i.test(remote)) return {};
  const url = new URL(remote);
  if (!(settings.tokenHosts ?? ['github.com']).some((h) => h === url.host.toLowerCase() || h === url.hostname.toLowerCase())) return {};
  const origin = url.origin;
  const basic = Buffer.from(`x-access-token:${token}`).toString('base64');
  return {
    GIT_CONFIG_COUNT: '1',
    GIT_CONFIG_KEY_0: `http.${origin}/.extraHeader`,
    GIT_CONFIG_VALUE_0: `Authorization: Basic ${basic}`,
  };
}

function cloneDir(workdir: string, remote: string): string {
  const slug = remote.replace(/\.git$/, '').split(/[\\/:]/).filter(Boolean).at(-1)?.replace(/[^\w.-]/g, '_').slice(0, 40) || 'repo';
  const hash = createHash('sha256').update(remote).digest('hex').slice(0, 12);
  return join(workdir, `${slug}-${hash}.git`);
}

/**
 * Runs `fn` on the cached clone of `remote`, freshly fetched (all branches, as refs/remotes/origin/*),
 * holding the clone's lock. `fn` may fetch again (after a rejected push).
 */
export async function withRepo<T>(remoteInput: string, fn: (repo: Repo) => Promise<T>, opts: { signal?: AbortSignal; settings?: GitSettings } = {}): Promise<T> {
  const remote = normalizeRemote(remoteInput);
  const settings = opts.settings ?? gitSettings();
  mkdirSync(settings.workdir, { recursive: true });
  const dir = cloneDir(settings.workdir, remote);
  const env = credentialEnv(remote, settings);
  const repo: Repo = {
    dir,
    remote,
    settings,
    git: (args, o = {}) => runGit(args, { ...o, cwd: dir, env: { ...env, ...o.env }, signal: o.signal ?? opts.signal }),
    text: async (args, o = {}) => (await repo.git(args, o)).toString('utf8').trim(),
  };
  const prepare = async (fresh: boolean) => {
    if (fresh || !existsSync(join(dir, 'HEAD'))) {
      await rm(dir, { recursive: true, force: true });
      await runGit(['init', '--bare', '--quiet', dir]);
    }
    // The remote's URL is (re)written each time: a path remote given as file:// or not stays the same clone.
    await repo.git(['config', 'remote.origin.url', /^\//.test(remote) ? pathToFileURL(remote).href : remote]);
    await repo.git(['config', 'remote.origin.fetch', '+refs/heads/*:refs/remotes/origin/*']);
    await fetchOrigin(repo);
  };
  return locked(dir, `${dir}.lock`, async () => {
    try {
      await prepare(false);
    } catch (e) {
      // The clone is only a cache: when git fails on it for a reason other than the remote (a ref lock
      // or a half-written pack left by a worker killed mid-fetch), start it over once.
      if (!(e instanceof ApplicationFailure) || e.type !== 'GitError') throw e;
      await prepare(true);
    }
    return fn(repo);
  }, opts.signal);
}

/** Fetches every branch of the remote (pruning deleted ones). */
export async function fetchOrigin(repo: Repo): Promise<void> {
  try {
    await repo.git(['fetch', '--quiet', '--prune', '--no-tags', 'origin']);
  } catch (e) {
    throw gitFailure(e, `git fetch ${displayRemote(repo.remote)}`);
  }
}

/** The remote's default branch (its HEAD), or undefined for an empty repository. */
export async function defaultBranch(repo: Repo): Promise<string | undefined> {
  let out: string;
  try {
    out = await repo.text(['ls-remote', '--symref', 'origin', 'HEAD']);
  } catch (e) {
    throw gitFailure(e, `git ls-remote ${displayRemote(repo.remote)}`);
  }
  const m = /^ref: refs\/heads\/(\S+)\s+HEAD/m.exec(out);
  if (m) return m[1];
  // No symref (old servers): main, then master, when they exist.
  for (const b of ['main', 'master']) if (await branchCommit(repo, b)) return b;
  return undefined;
}

/** The fetched commit of a remote branch, or undefined. */
export async function branchCommit(repo: Repo, branch: string): Promise<string | undefined> {
  try {
    return await repo.text(['rev-parse', '--verify', '--quiet', `refs/remotes/origin/${branch}^{commit}`]);
  } catch {
    return undefined;
  }
}

/**
 * A ref given by a caller: a branch of the remote, a full/abbreviated commit id, or undefined for the
 * default branch. Throws GitRefNotFound (non-retryable) when it resolves to nothing.
 */
export async function resolveRef(repo: Repo, ref: string | undefined): Promise<{ commit: string; branch?: string }> {
  const branch = ref ?? (await defaultBranch(repo));
  if (branch !== undefined) {
    const commit = await branchCommit(repo, branch);
    if (commit) return { commit, branch };
  }
  if (ref && /^[0-9a-f]{4,40}$/i.test(ref)) {
    try {
      return { commit: await repo.text(['rev-parse', '--verify', '--quiet', `${ref}^{commit}`]) };
    } catch {
      // fall through
    }
  }
  throw ApplicationFailure.create({
    message: `git: ${ref === undefined ? 'the default branch' : `ref ${ref}`} not found in ${displayRemote(repo.remote)}`,
    type: 'GitRefNotFound',
    nonRetryable: true,
  });
}

export interface TreeEntry {
  mode: string;
  type: string;
  oid: string;
  path: string;
}

/** The blobs of a commit's tree (recursive), optionally under `prefixes`. */
export async function listTree(repo: Repo, commit: string, prefixes: string[] = []): Promise<TreeEntry[]> {
  const out = await repo.git(['ls-tree', '-r', '-z', '--full-tree', commit, '--', ...prefixes]);
  return out
    .toString('utf8')
    .split('\0')
    .filter(Boolean)
    .map((line) => {
      const tab = line.indexOf('\t');
      const [mode, type, oid] = line.slice(0, tab).split(' ');
      return { mode: mode!, type: type!, oid: oid!, path: line.slice(tab + 1) };
    })
    .filter((e) => e.type === 'blob');
}

/** Reads blobs by id in one `git cat-file --batch`. */
export async function readBlobs(repo: Repo, oids: string[]): Promise<Map<string, Buffer>> {
  const result = new Map<string, Buffer>();
  if (!oids.length) return result;
  const out = await repo.git(['cat-file', '--batch'], { input: `${oids.join('\n')}\n` });
  let pos = 0;
  for (const oid of oids) {
    const nl = out.indexOf(10, pos);
    const header = out.subarray(pos, nl).toString('utf8');
    const [, type, size] = header.split(' ');
    if (type === undefined || header.endsWith('missing')) {
      pos = nl + 1;
      continue;
    }
    const n = Number(size);
    result.set(oid, out.subarray(nl + 1, nl + 1 + n));
    pos = nl + 1 + n + 1;
  }
  return result;
}

/** The text of one file at a commit, or undefined when absent. */
export async function readFileAt(repo: Repo, commit: string, path: string): Promise<string | undefined> {
  const [entry] = (await listTree(repo, commit, [path])).filter((e) => e.path === path);
  if (!entry) return undefined;
  return (await readBlobs(repo, [entry.oid])).get(entry.oid)?.toString('utf8');
}

/** A repository path as git stores it: relative, forward slashes, no `.`/`..` segments. */
export function checkPath(path: string): string {
  const p = path.replace(/\\/g, '/').replace(/^\.\//, '');
  if (!p || p.startsWith('/') || p.split('/').some((s) => s === '' || s === '.' || s === '..' || s === '.git')) {
    throw ApplicationFailure.create({ message: `git: invalid path in the repository: ${JSON.stringify(path)}`, type: 'GitInvalidInput', nonRetryable: true });
  }
  return p;
}
