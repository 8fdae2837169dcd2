// The body of git.commitFiles, callable with explicit settings (tests run several "workers", each
// with its own clone, against one remote to exercise rejected pushes for real).
//
// One attempt: tip of the branch (or of `base` when the branch does not exist yet) -> temporary index
// read from that tip -> files written, edits applied to the file as it is at that tip -> write-tree.
// Same tree as the tip: nothing to commit (idempotent re-run). Otherwise commit-tree and push with a
// lease on the tip we built on (compare-and-swap): when someone else moved the branch meanwhile, the
// push is rejected, we fetch, and build again on the new tip. No update is ever lost or overwritten.
// With `rebase`, the commit is built on the tip of `base` instead and replaces the branch (still under
// the lease): a pull request branch brought up to date by re-applying its declarative change.
import { randomBytes } from 'node:crypto';
import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import { ApplicationFailure } from '@temporalio/common';
import { z } from 'zod';
import { applyEdit, Edit } from './_edits.ts';
import {
  branchCommit,
  checkPath,
  defaultBranch,
  displayRemote,
  fetchOrigin,
  GitCommandError,
  gitFailure,
  readFileAt,
  withRepo,
  type GitSettings,
  type Person,
  type Repo,
} from './_repo.ts';

/** A branch name git accepts (check-ref-format, simplified) . */
export const BranchName = z
  .string()
  .min(1)
  .max(200)
  .regex(/^(?!\/|.*\/$|.*\/\/|.*\.\.|.*@\{|.*\.lock$|.*\/\.|\.)[A-Za-z0-9._/-]+$/, 'a valid git branch name');

const PersonSchema = z.strictObject({ name: z.string().min(1).max(200), email: z.string().min(3).max(200) });

export const CommitFilesInput = z.strictObject({
  repository: z.string().min(1).describe('URL (https://, file://) or local path of the remote'),
  branch: BranchName.describe('branch to commit to; created from base when it does not exist'),
  base: BranchName.optional().describe("branch to create `branch` from (default: the remote's default branch)"),
  files: z.record(z.string(), z.string().nullable()).default({}).describe('path -> new content, null deletes the file'),
  edits: z.array(Edit).max(100).default([]).describe('structured edits applied (after files) on the tip at commit time'),
  message: z.string().min(1).max(10_000),
  author: PersonSchema.optional().describe('default: the worker-configured author'),
  rebase: z
    .boolean()
    .default(false)
    .describe(
      'rebuild the branch as one commit on the current tip of base (files and edits re-applied there), replacing what it ' +
        'had: run it again with rebase right before merging a change whose base moved (e.g. two onboardings each adding ' +
        'a line to apps/argo-apps/kustomization.yaml), so the pull request merges without conflict',
    ),
});
export type CommitFilesInput = z.output<typeof CommitFilesInput>;

export const CommitFilesOutput = z.object({
  commit: z.string(),
  branch: z.string(),
  changed: z.boolean().describe('false when the branch already had this content (no new commit)'),
  created: z.boolean().describe('the branch was created'),
  attempts: z.number().int().describe('push attempts (more than 1 when concurrent writers moved the branch)'),
});
export type CommitFilesOutput = z.output<typeof CommitFilesOutput>;

const MAX_ATTEMPTS = 30;

export interface CommitOptions {
  signal?: AbortSignal;
  settings?: GitSettings;
  heartbeat?: (details: unknown) => void;
}

export function commitFiles(input: CommitFilesInput, opts: CommitOptions = {}): Promise<CommitFilesOutput> {
  const files = Object.entries(input.files).map(([p, content]) => [checkPath(p), content] as const);
  const edits = input.edits.map((e) => ({ ...e, path: checkPath(e.path) }));
  if (!files.length && !edits.length) {
    throw ApplicationFailure.create({ message: 'git.commitFiles: nothing to commit (no files, no edits)', type: 'GitInvalidInput', nonRetryable: true });
  }
  return withRepo(
    input.repository,
    async (repo) => {
      for (let attempt = 1; ; attempt++) {
        opts.heartbeat?.({ attempt });
        const tip = await branchCommit(repo, input.branch);
        let parent = tip;
        if (!tip || input.rebase) {
          const base = input.base ?? (await defaultBranch(repo));
          if (input.rebase && base === input.branch) {
            throw ApplicationFailure.create({ message: `git.commitFiles: cannot rebase ${input.branch} onto itself`, type: 'GitInvalidInput', nonRetryable: true });
          }
          parent = base === undefined ? undefined : await branchCommit(repo, base);
          if (base !== undefined && !parent) {
            throw ApplicationFailure.create({
              message: `git.commitFiles: base branch ${base} not found in ${displayRemote(repo.remote)}`,
              type: 'GitRefNotFound',
              nonRetryable: true,
            });
          }
        }
        const commit = await buildCommit(repo, parent, files, edits, input.message, input.author ?? repo.settings.author);
        if (tip && (commit === tip || (input.rebase && (await sameChange(repo, tip, commit, parent))))) {
          return { commit: tip, branch: input.branch, changed: false, created: false, attempts: attempt };
        }
        if (await push(repo, commit, input.branch, tip)) {
          return { commit, branch: input.branch, changed: input.rebase ? commit !== tip : commit !== parent, created: !tip, attempts: attempt };
        }
        if (attempt >= MAX_ATTEMPTS) {
          throw ApplicationFailure.create({
            message: `git.commitFiles: push to ${input.branch} of ${displayRemote(repo.remote)} rejected ${attempt} times (the branch keeps moving)`,
            type: 'GitPushRejected',
            nonRetryable: false,
          });
        }
        // Someone pushed first: back off a little (jittered), fetch their commit and build on it.
        await new Promise((r) => setTimeout(r, Math.random() * Math.min(100 * 2 ** attempt, 3_000)));
        await fetchOrigin(repo);
      }
    },
    { signal: opts.signal, settings: opts.settings },
  );
}

/** `tip` already is this change on this parent (same tree, same single parent): a rebase with nothing to do. */
async function sameChange(repo: Repo, tip: string, commit: string, parent: string | undefined): Promise<boolean> {
  const [tipTree, newTree, tipParents] = await Promise.all([
    repo.text(['rev-parse', `${tip}^{tree}`]),
    repo.text(['rev-parse', `${commit}^{tree}`]),
    repo.text(['rev-list', '--parents', '-n', '1', tip]),
  ]);
  return tipTree === newTree && tipParents.split(' ').slice(1).join(' ') === (parent ?? '');
}

/** Builds the commit on `parent` (undefined: a root commit); returns `parent` itself when the tree is unchanged. */
async function buildCommit(
  repo: Repo,
  parent: string | undefined,
  files: (readonly [string, string | null])[],
  edits: Edit[],
  message: string,
  author: Person,
): Promise<string> {
  // The final content of every touched path (null = deleted), edits applied in order on the tip's content.
  const content = new Map<string, string | null>(files);
  for (const edit of edits) {
    const current = content.has(edit.path) ? (content.get(edit.path) ?? undefined) : parent ? await readFileAt(repo, parent, edit.path) : undefined;
    const next = applyEdit(edit, current);
    if (next !== undefined) content.set(edit.path, next);
  }
  const index = join(repo.dir, `index-${process.pid}-${randomBytes(6).toString('hex')}`);
  const env = { GIT_INDEX_FILE: index };
  try {
    await repo.git(parent ? ['read-tree', parent] : ['read-tree', '--empty'], { env });
    const lines = await Promise.all(
      [...content].map(async ([path, text]) => {
        if (text === null) return `0 ${'0'.repeat(40)}\t${path}`;
        const oid = (await repo.git(['hash-object', '-w', '--stdin'], { input: text })).toString('utf8').trim();
        return `100644 ${oid}\t${path}`;
      }),
    );
    await repo.git(['update-index', '--index-info'], { env, input: `${lines.join('\n')}\n` });
    const tree = await repo.text(['write-tree'], { env });
    if (parent && tree === (await repo.text(['rev-parse', `${parent}^{tree}`]))) return parent;
    const committer = repo.settings.author;
    return await repo.text(['commit-tree', '--no-gpg-sign', tree, ...(parent ? ['-p', parent] : []), '-F', '-'], {
      input: message.endsWith('\n') ? message : `${message}\n`,
      env: {
        GIT_AUTHOR_NAME: author.name,
        GIT_AUTHOR_EMAIL: author.email,
        GIT_COMMITTER_NAME: committer.name,
        GIT_COMMITTER_EMAIL: committer.email,
      },
    });
  } finally {
    await rm(index, { force: true });
  }
}

const REJECTED = /\[rejected\]|\[remote rejected\]|non-fast-forward|fetch first|stale info|cannot lock ref|failed to lock|failed to update ref|reference already exists|incorrect old value/i;

/** Pushes `commit` to `branch` if the remote branch is still `expected` (absent when undefined); false when rejected for that. */
async function push(repo: Repo, commit: string, branch: string, expected: string | undefined): Promise<boolean> {
  const ref = `refs/heads/${branch}`;
  try {
    await repo.git(['push', '--porcelain', '--quiet', `--force-with-lease=${ref}:${expected ?? ''}`, 'origin', `${commit}:${ref}`]);
    return true;
  } catch (e) {
    if (e instanceof GitCommandError && REJECTED.test(`${e.stdout}\n${e.stderr}`) && !/pre-receive hook declined|protected branch/i.test(e.stderr + e.stdout)) {
      return false;
    }
    if (e instanceof GitCommandError && /pre-receive hook declined|protected branch/i.test(e.stderr + e.stdout)) {
      throw ApplicationFailure.create({ message: `git push to ${branch} of ${displayRemote(repo.remote)} declined by the remote: ${e.stderr.trim().slice(-300)}`, type: 'GitPushDeclined', nonRetryable: true });
    }
    throw gitFailure(e, `git push ${displayRemote(repo.remote)} ${branch}`);
  }
}
