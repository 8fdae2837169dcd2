// Git remotes for tests: a bare repository on disk (the "remote" the git.* activities push to),
// seeded with one commit from a directory or a files map, and helpers to read it back for assertions.
// Uses the git CLI directly (not the activities' code). Everything lives in a temp dir removed when the
// test file ends.
import { execFile } from 'node:child_process';
import { cpSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { pathToFileURL } from 'node:url';
import type { GitSettings } from '../../activities/git/_repo.ts';

const GIT_ENV = {
  GIT_CONFIG_NOSYSTEM: '1',
  GIT_CONFIG_GLOBAL: '/dev/null',
  GIT_AUTHOR_NAME: 'Seed',
  GIT_AUTHOR_EMAIL: 'seed@example.test',
  GIT_COMMITTER_NAME: 'Seed',
  GIT_COMMITTER_EMAIL: 'seed@example.test',
  LC_ALL: 'C',
};

/** Runs git (test side) in `cwd` (required: never the project's own checkout by accident); resolves stdout. */
export function git(args: string[], cwd: string, input?: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = execFile('git', args, { cwd, env: { ...process.env, ...GIT_ENV }, maxBuffer: 64 * 1024 * 1024 }, (err, stdout, stderr) => {
      if (err) reject(new Error(`git ${args.join(' ')}: ${stderr || err.message}${stdout}`));
      else resolve(stdout);
    });
    if (input !== undefined) child.stdin?.end(input);
  });
}

let scratchRoot: string | undefined;

/** A temp dir of this test file (removed when it ends). */
export function scratchDir(prefix: string): string {
  if (!scratchRoot) {
    scratchRoot = mkdtempSync(join(process.env.CEDILLE_TEST_SCRATCH ?? tmpdir(), 'git-test-'));
    const root = scratchRoot;
    // on exit, not with `after`: a first call inside a test would register the hook on that test
    process.once('exit', () => rmSync(root, { recursive: true, force: true }));
  }
  return mkdtempSync(join(scratchRoot, `${prefix}-`));
}

/** Settings of a "worker" of its own: its own clone cache, a fixed author. */
export function gitSettings(name = 'worker'): GitSettings {
  return { workdir: scratchDir(`workdir-${name}`), author: { name: 'Cédille Workflows (test)', email: 'workflows@test.invalid' } };
}

export interface TestRemote {
  /** Path of the bare repository (what the activities take as `repository`). */
  path: string;
  /** The same as a file:// URL. */
  url: string;
  /** The commit of a branch (default main), or undefined. */
  head(branch?: string): Promise<string | undefined>;
  /** A file at a ref (default main), or undefined. */
  readFile(path: string, ref?: string): Promise<string | undefined>;
  /** Every file at a ref, optionally under a prefix. */
  files(ref?: string, prefix?: string): Promise<Record<string, string>>;
  /** Commits reachable from a ref, newest first (`oid subject`). */
  log(ref?: string): Promise<{ commit: string; subject: string; author: string }[]>;
  /** Branch names. */
  branches(): Promise<string[]>;
  /** The commit any revision names (`main`, a sha, `<sha>^2`), or undefined. */
  rev(revision: string): Promise<string | undefined>;
  /**
   * Commits `files` (path -> content, over the tree of `base`, default main; `base: null` starts an
   * orphan branch) on `branch` and force-pushes it, as someone pushing to the forge would; returns the commit.
   */
  commit(branch: string, files: Record<string, string>, message: string, opts?: { base?: string | null }): Promise<string>;
}

export interface SeedOptions {
  /** A directory whose content becomes the first commit. */
  fromDir?: string;
  /** Files (path -> content) added to the first commit (after fromDir). */
  files?: Record<string, string>;
  branch?: string;
  message?: string;
}

/** A bare repository seeded with one commit on `main` (or `branch`). */
export async function seedRemote(opts: SeedOptions = {}): Promise<TestRemote> {
  const branch = opts.branch ?? 'main';
  const base = scratchDir('remote');
  const path = join(base, 'origin.git');
  const work = join(base, 'seed');
  mkdirSync(work);
  if (opts.fromDir) cpSync(opts.fromDir, work, { recursive: true });
  for (const [p, content] of Object.entries(opts.files ?? {})) {
    mkdirSync(dirname(join(work, p)), { recursive: true });
    writeFileSync(join(work, p), content);
  }
  await git(['init', '--quiet', '--bare', `--initial-branch=${branch}`, path], base);
  await git(['init', '--quiet', `--initial-branch=${branch}`], work);
  await git(['add', '--all'], work);
  await git(['commit', '--quiet', '--allow-empty', '-m', opts.message ?? 'Seed'], work);
  await git(['push', '--quiet', path, `${branch}:${branch}`], work);
  rmSync(work, { recursive: true, force: true });
  return remoteAt(path);
}

/** Helpers over an existing bare repository. */
export function remoteAt(path: string): TestRemote {
  const at = (ref = 'main') => ref;
  return {
    path,
    url: pathToFileURL(path).href,
    async head(branch = 'main') {
      try {
        return (await git(['rev-parse', '--verify', '--quiet', `refs/heads/${branch}`], path)).trim();
      } catch {
        return undefined;
      }
    },
    async readFile(p, ref) {
      try {
        return await git(['cat-file', 'blob', `${at(ref)}:${p}`], path);
      } catch {
        return undefined;
      }
    },
    async files(ref, prefix) {
      const out = await git(['ls-tree', '-r', '--name-only', '-z', at(ref), ...(prefix ? ['--', prefix] : [])], path);
      const result: Record<string, string> = {};
      for (const p of out.split('\0').filter(Boolean)) result[p] = await git(['cat-file', 'blob', `${at(ref)}:${p}`], path);
      return result;
    },
    async log(ref) {
      const out = await git(['log', '--format=%H%x09%an <%ae>%x09%s', at(ref)], path);
      return out
        .split('\n')
        .filter(Boolean)
        .map((l) => {
          const [commit, author, subject] = l.split('\t');
          return { commit: commit!, author: author!, subject: subject ?? '' };
        });
    },
    async branches() {
      const out = await git(['for-each-ref', '--format=%(refname:short)', 'refs/heads/'], path);
      return out.split('\n').filter(Boolean);
    },
    async rev(revision) {
      try {
        return (await git(['rev-parse', '--verify', '--quiet', `${revision}^{commit}`], path)).trim();
      } catch {
        return undefined;
      }
    },
    async commit(branch, files, message, opts = {}) {
      const base = opts.base === undefined ? 'main' : opts.base;
      const work = scratchDir('commit');
      try {
        await git(['init', '--quiet', `--initial-branch=${branch}`], work);
        if (base !== null) {
          await git(['fetch', '--quiet', path, base], work);
          await git(['reset', '--quiet', '--hard', 'FETCH_HEAD'], work);
        }
        for (const [p, content] of Object.entries(files)) {
          mkdirSync(dirname(join(work, p)), { recursive: true });
          writeFileSync(join(work, p), content);
        }
        await git(['add', '--all'], work);
        await git(['commit', '--quiet', '-m', message], work);
        await git(['push', '--quiet', '--force', path, `HEAD:refs/heads/${branch}`], work);
        return (await git(['rev-parse', 'HEAD'], work)).trim();
      } finally {
        rmSync(work, { recursive: true, force: true });
      }
    },
  };
}

export interface GitHttpServer {
  /** `http://127.0.0.1:<port>/<name>` for a bare repository `<root>/<name>`. */
  url(name: string): string;
  /** Requests seen: method, path, and whether they carried the expected token. */
  requests: { method: string; path: string; authorized: boolean }[];
  close(): Promise<void>;
}

/**
 * git's smart HTTP protocol over the bare repositories under `root` (git-http-backend as CGI), the way a
 * forge serves them: with `token`, every request must carry `Authorization: Basic base64(<user>:<token>)`
 * (GitHub's form for tokens) or gets a 401.
 */
export async function serveGitHttp(root: string, opts: { token?: string } = {}): Promise<GitHttpServer> {
  const { createServer } = await import('node:http');
  const { spawn } = await import('node:child_process');
  const backend = join((await git(['--exec-path'], root)).trim(), 'git-http-backend');
  const requests: GitHttpServer['requests'] = [];
  const server = createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://localhost');
    const auth = req.headers.authorization ?? '';
    const user = /^Basic (.+)$/.exec(auth) ? Buffer.from(auth.slice(6), 'base64').toString('utf8') : '';
    const authorized = !opts.token || user.split(':').slice(1).join(':') === opts.token;
    requests.push({ method: req.method ?? '', path: url.pathname, authorized });
    if (!authorized) {
      res.writeHead(401, { 'www-authenticate': 'Basic realm="git"' }).end('unauthorized\n');
      return;
    }
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const body = Buffer.concat(chunks);
      const cgi = spawn(backend, [], {
        env: {
          ...process.env,
          ...GIT_ENV,
          GIT_PROJECT_ROOT: root,
          GIT_HTTP_EXPORT_ALL: '1',
          REQUEST_METHOD: req.method ?? 'GET',
          PATH_INFO: url.pathname,
          QUERY_STRING: url.search.slice(1),
          CONTENT_TYPE: req.headers['content-type'] ?? '',
          CONTENT_LENGTH: String(body.length),
          HTTP_CONTENT_ENCODING: req.headers['content-encoding'] ?? '',
          GIT_PROTOCOL: String(req.headers['git-protocol'] ?? ''),
          REMOTE_USER: user.split(':')[0] || 'anonymous',
          REMOTE_ADDR: '127.0.0.1',
        },
      });
      const out: Buffer[] = [];
      cgi.stdout.on('data', (c: Buffer) => out.push(c));
      cgi.stderr.on('data', () => undefined);
      cgi.on('close', () => {
        const all = Buffer.concat(out);
        const end = all.indexOf('\r\n\r\n');
        const head = all.subarray(0, end).toString('utf8');
        const headers: Record<string, string> = {};
        let status = 200;
        for (const line of head.split('\r\n')) {
          const i = line.indexOf(':');
          const name = line.slice(0, i).trim().toLowerCase();
          const value = line.slice(i + 1).trim();
          if (name === 'status') status = Number(value.split(' ')[0]);
          else if (name) headers[name] = value;
        }
        res.writeHead(status, headers).end(all.subarray(end + 4));
      });
      cgi.stdin.end(body);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as { port: number }).port;
  return {
    url: (name) => `http://127.0.0.1:${port}/${name}`,
    requests,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
