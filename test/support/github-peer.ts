// A local stand-in for the GitHub REST API, speaking the wire format of the endpoints the github.*
// activities call through Octokit, backed by REAL bare git repositories (one per `owner/name`):
//   GET    /repos/{o}/{r}/pulls?state&head&base          list (head = `owner:branch`)
//   POST   /repos/{o}/{r}/pulls                          create (422 when the head branch is absent or a PR for it is open)
//   GET    /repos/{o}/{r}/pulls/{n}                      get (with `mergeable`, computed by git merge-tree)
//   PATCH  /repos/{o}/{r}/pulls/{n}                      update (state: closed, title, body)
//   PUT    /repos/{o}/{r}/pulls/{n}/merge                a real merge in the bare repo (merge commit or squash);
//                                                        405 "Pull Request is not mergeable" on a conflict,
//                                                        409 "Head branch was modified..." when `sha` is not the head
//   PATCH  /repos/{o}/{r}/git/refs/heads/{branch}        move a branch (fast-forward only unless force: true)
//   GET    /repos/{o}/{r}/issues/{n}/comments            list comments
//   POST   /repos/{o}/{r}/issues/{n}/comments            comment
// Every request needs `Authorization: token <token>` (or Bearer): 401 "Bad credentials" otherwise.
// Merges update the base ref with compare-and-swap (`git update-ref <ref> <new> <old>`), so a base
// that moved in between is noticed as it would be on GitHub.
import { execFile } from 'node:child_process';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { promisify } from 'node:util';

const run = promisify(execFile);

export interface PeerPull {
  number: number;
  title: string;
  body: string;
  head: string;
  base: string;
  state: 'open' | 'closed';
  merged: boolean;
  mergeCommitSha: string | null;
  createdAt: string;
  closedAt: string | null;
  mergedAt: string | null;
  comments: { id: number; body: string; user: string; createdAt: string }[];
}

export interface GithubPeer {
  /** The Octokit `baseUrl`: `http://127.0.0.1:<port>`. */
  url: string;
  token: string;
  pulls(repo: string): PeerPull[];
  /** Requests seen: method, path and status answered. */
  requests: { method: string; path: string; status: number }[];
  close(): Promise<void>;
}

async function git(repo: string, ...args: string[]): Promise<string> {
  const { stdout } = await run('git', ['-C', repo, ...args], { maxBuffer: 64 * 1024 * 1024 });
  return stdout.trim();
}

async function revParse(repo: string, ref: string): Promise<string | undefined> {
  try {
    return await git(repo, 'rev-parse', '--verify', '--quiet', `${ref}^{commit}`);
  } catch {
    return undefined;
  }
}

class HttpError extends Error {
  constructor(
    readonly status: number,
    message: string,
    readonly extra: Record<string, unknown> = {},
  ) {
    super(message);
  }
}

const DOCS = 'https://docs.github.com/rest/pulls/pulls';
const BOT = { login: 'cedille-workflows[bot]', id: 4242, type: 'Bot' };

/** Starts the peer; `repos` maps `owner/name` to the path of a bare repository. */
export async function startGithubPeer(repos: Record<string, string>, opts: { token?: string } = {}): Promise<GithubPeer> {
  const token = opts.token ?? `ghp_test${Math.random().toString(36).slice(2)}`;
  const pullsByRepo = new Map<string, PeerPull[]>(Object.keys(repos).map((r) => [r, []]));
  const requests: GithubPeer['requests'] = [];
  let nextComment = 1000;
  let serverUrl = '';
  // Merges of one repository run one at a time (GitHub serialises them too).
  const locks = new Map<string, Promise<unknown>>();
  const serial = <T>(key: string, fn: () => Promise<T>): Promise<T> => {
    const prev = locks.get(key) ?? Promise.resolve();
    const next = prev.then(fn, fn);
    locks.set(key, next.catch(() => undefined));
    return next;
  };

  const pullJson = async (repo: string, p: PeerPull) => {
    const path = repos[repo]!;
    const [owner] = repo.split('/');
    const headSha = (await revParse(path, `refs/heads/${p.head}`)) ?? null;
    const baseSha = (await revParse(path, `refs/heads/${p.base}`)) ?? null;
    let mergeable: boolean | null = null;
    if (p.state === 'open' && headSha && baseSha) mergeable = await mergesCleanly(path, baseSha, headSha);
    return {
      url: `${serverUrl}/repos/${repo}/pulls/${p.number}`,
      html_url: `https://github.com/${repo}/pull/${p.number}`,
      number: p.number,
      state: p.state,
      title: p.title,
      body: p.body,
      user: BOT,
      created_at: p.createdAt,
      updated_at: p.closedAt ?? p.createdAt,
      closed_at: p.closedAt,
      merged_at: p.mergedAt,
      merged: p.merged,
      merge_commit_sha: p.mergeCommitSha,
      mergeable,
      mergeable_state: mergeable === null ? 'unknown' : mergeable ? 'clean' : 'dirty',
      head: { label: `${owner}:${p.head}`, ref: p.head, sha: headSha, repo: { full_name: repo } },
      base: { label: `${owner}:${p.base}`, ref: p.base, sha: baseSha, repo: { full_name: repo } },
    };
  };

  async function handle(req: IncomingMessage, body: string): Promise<{ status: number; json: unknown }> {
    const auth = req.headers.authorization ?? '';
    if (auth !== `token ${token}` && auth !== `Bearer ${token}`) throw new HttpError(401, 'Bad credentials', { documentation_url: 'https://docs.github.com/rest' });
    const url = new URL(req.url ?? '/', 'http://peer');
    // Octokit sends the ref URL-encoded (heads%2Fonboarding%2Fradio), GitHub accepts both.
    const ref = /^\/repos\/([^/]+)\/([^/]+)\/git\/refs\/(.+)$/.exec(url.pathname);
    const refName = ref ? decodeURIComponent(ref[3]!) : '';
    if (ref && req.method === 'PATCH' && refName.startsWith('heads/')) {
      return updateRef(`${ref[1]}/${ref[2]}`, refName.slice('heads/'.length), body ? (JSON.parse(body) as Record<string, unknown>) : {});
    }
    const m = /^\/repos\/([^/]+)\/([^/]+)\/(pulls|issues)(?:\/(\d+))?(?:\/(merge|comments))?\/?$/.exec(url.pathname);
    if (!m) throw new HttpError(404, 'Not Found');
    const repo = `${m[1]}/${m[2]}`;
    const path = repos[repo];
    const pulls = pullsByRepo.get(repo);
    if (!path || !pulls) throw new HttpError(404, 'Not Found');
    const input = body ? (JSON.parse(body) as Record<string, unknown>) : {};
    const method = req.method ?? 'GET';
    const number = m[4] ? Number(m[4]) : undefined;
    const find = () => {
      const p = pulls.find((x) => x.number === number);
      if (!p) throw new HttpError(404, 'Not Found');
      return p;
    };

    if (m[3] === 'pulls' && number === undefined) {
      if (method === 'GET') {
        const state = url.searchParams.get('state') ?? 'open';
        const head = url.searchParams.get('head');
        const base = url.searchParams.get('base');
        const [owner] = repo.split('/');
        const list = pulls.filter(
          (p) => (state === 'all' || p.state === state) && (!head || head === `${owner}:${p.head}` || head === p.head) && (!base || p.base === base),
        );
        return { status: 200, json: await Promise.all(list.map((p) => pullJson(repo, p))) };
      }
      if (method === 'POST') {
        const head = String(input.head ?? '');
        const base = String(input.base ?? '');
        const invalid = (message: string) => new HttpError(422, 'Validation Failed', { errors: [{ resource: 'PullRequest', code: 'custom', message }], documentation_url: `${DOCS}#create-a-pull-request` });
        if (!input.title) throw invalid('title is missing');
        if (!(await revParse(path, `refs/heads/${head}`))) throw new HttpError(422, 'Validation Failed', { errors: [{ resource: 'PullRequest', field: 'head', code: 'invalid' }] });
        if (!(await revParse(path, `refs/heads/${base}`))) throw new HttpError(422, 'Validation Failed', { errors: [{ resource: 'PullRequest', field: 'base', code: 'invalid' }] });
        if (pulls.some((p) => p.state === 'open' && p.head === head && p.base === base)) throw invalid(`A pull request already exists for ${repo.split('/')[0]}:${head}.`);
        const p: PeerPull = {
          number: pulls.length + 1,
          title: String(input.title),
          body: String(input.body ?? ''),
          head,
          base,
          state: 'open',
          merged: false,
          mergeCommitSha: null,
          createdAt: new Date().toISOString(),
          closedAt: null,
          mergedAt: null,
          comments: [],
        };
        pulls.push(p);
        return { status: 201, json: await pullJson(repo, p) };
      }
    }
    if (m[3] === 'pulls' && number !== undefined && !m[5]) {
      const p = find();
      if (method === 'GET') return { status: 200, json: await pullJson(repo, p) };
      if (method === 'PATCH') {
        if (typeof input.title === 'string') p.title = input.title;
        if (typeof input.body === 'string') p.body = input.body;
        if (input.state === 'closed' && p.state === 'open') {
          p.state = 'closed';
          p.closedAt = new Date().toISOString();
        }
        return { status: 200, json: await pullJson(repo, p) };
      }
    }
    if (m[3] === 'pulls' && number !== undefined && m[5] === 'merge' && method === 'PUT') {
      return serial(repo, async () => {
        const p = find();
        if (p.merged) throw new HttpError(405, 'Pull Request is not mergeable', { documentation_url: `${DOCS}#merge-a-pull-request` });
        if (p.state !== 'open') throw new HttpError(422, 'Pull Request is not open', {});
        const headSha = await revParse(path, `refs/heads/${p.head}`);
        const baseSha = await revParse(path, `refs/heads/${p.base}`);
        if (!headSha || !baseSha) throw new HttpError(422, 'Head or base branch is missing');
        if (typeof input.sha === 'string' && input.sha !== headSha) {
          throw new HttpError(409, 'Head branch was modified. Review and try the merge again.', { documentation_url: `${DOCS}#merge-a-pull-request` });
        }
        const methodName = String(input.merge_method ?? 'merge');
        if (methodName !== 'merge' && methodName !== 'squash') throw new HttpError(405, `Merge method ${methodName} is not allowed on this repository`);
        const tree = await mergeTree(path, baseSha, headSha);
        if (!tree) throw new HttpError(405, 'Pull Request is not mergeable', { documentation_url: `${DOCS}#merge-a-pull-request` });
        const title = String(input.commit_title ?? (methodName === 'merge' ? `Merge pull request #${p.number} from ${repo.split('/')[0]}/${p.head}` : `${p.title} (#${p.number})`));
        const message = input.commit_message ? `${title}\n\n${String(input.commit_message)}` : title;
        const parents = methodName === 'merge' ? ['-p', baseSha, '-p', headSha] : ['-p', baseSha];
        const sha = (
          await run('git', ['-C', path, 'commit-tree', tree, ...parents, '-m', message], {
            env: { ...process.env, GIT_AUTHOR_NAME: 'GitHub', GIT_AUTHOR_EMAIL: 'noreply@github.com', GIT_COMMITTER_NAME: 'GitHub', GIT_COMMITTER_EMAIL: 'noreply@github.com' },
          })
        ).stdout.trim();
        try {
          await git(path, 'update-ref', `refs/heads/${p.base}`, sha, baseSha);
        } catch {
          throw new HttpError(409, 'Base branch was modified. Review and try the merge again.');
        }
        p.merged = true;
        p.state = 'closed';
        p.mergeCommitSha = sha;
        p.mergedAt = p.closedAt = new Date().toISOString();
        return { status: 200, json: { sha, merged: true, message: 'Pull Request successfully merged' } };
      });
    }
    const commentJson = (p: PeerPull, c: PeerPull['comments'][number]) => ({
      id: c.id,
      body: c.body,
      user: BOT,
      created_at: c.createdAt,
      html_url: `https://github.com/${repo}/pull/${p.number}#issuecomment-${c.id}`,
    });
    if (m[3] === 'issues' && number !== undefined && m[5] === 'comments' && method === 'GET') {
      const p = find();
      return { status: 200, json: p.comments.map((c) => commentJson(p, c)) };
    }
    if (m[3] === 'issues' && number !== undefined && m[5] === 'comments' && method === 'POST') {
      const p = find();
      if (typeof input.body !== 'string' || !input.body) throw new HttpError(422, 'Validation Failed', { errors: [{ resource: 'IssueComment', field: 'body', code: 'missing_field' }] });
      const c = { id: nextComment++, body: input.body, user: BOT.login, createdAt: new Date().toISOString() };
      p.comments.push(c);
      return { status: 201, json: commentJson(p, c) };
    }
    throw new HttpError(404, 'Not Found');
  }

  /** PATCH git/refs/heads/{branch}: GitHub's "update a reference". */
  async function updateRef(repo: string, branch: string, input: Record<string, unknown>): Promise<{ status: number; json: unknown }> {
    const path = repos[repo];
    if (!path) throw new HttpError(404, 'Not Found');
    const sha = String(input.sha ?? '');
    return serial(repo, async () => {
      const current = await revParse(path, `refs/heads/${branch}`);
      if (!current) throw new HttpError(422, 'Reference does not exist');
      if (!(await revParse(path, sha))) throw new HttpError(422, 'Object does not exist');
      if (input.force !== true) {
        const ff = await git(path, 'merge-base', '--is-ancestor', current, sha).then(() => true, () => false);
        if (!ff) throw new HttpError(422, 'Update is not a fast forward');
      }
      await git(path, 'update-ref', `refs/heads/${branch}`, sha, current);
      return { status: 200, json: { ref: `refs/heads/${branch}`, url: `${serverUrl}/repos/${repo}/git/refs/heads/${branch}`, object: { sha, type: 'commit' } } };
    });
  }

  const server = createServer((req: IncomingMessage, res: ServerResponse) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const path = (req.url ?? '/').split('?')[0]!;
      const answer = (status: number, json: unknown) => {
        requests.push({ method: req.method ?? '', path, status });
        res.writeHead(status, { 'content-type': 'application/json; charset=utf-8', 'x-github-media-type': 'github.v3; format=json' }).end(JSON.stringify(json));
      };
      handle(req, Buffer.concat(chunks).toString('utf8')).then(
        (r) => answer(r.status, r.json),
        (err: unknown) => {
          if (err instanceof HttpError) answer(err.status, { message: err.message, documentation_url: 'https://docs.github.com/rest', status: String(err.status), ...err.extra });
          else answer(500, { message: (err as Error).message });
        },
      );
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  serverUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return {
    url: serverUrl,
    token,
    pulls: (repo) => pullsByRepo.get(repo) ?? [],
    requests,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/** The merged tree of base and head (a real three-way merge, `git merge-tree --write-tree`), or undefined on a conflict. */
async function mergeTree(repo: string, base: string, head: string): Promise<string | undefined> {
  try {
    const out = await git(repo, 'merge-tree', '--write-tree', '--no-messages', base, head);
    return out.split('\n')[0];
  } catch (err) {
    if ((err as { code?: number }).code === 1) return undefined;
    throw err;
  }
}

async function mergesCleanly(repo: string, base: string, head: string): Promise<boolean> {
  return (await mergeTree(repo, base, head)) !== undefined;
}
