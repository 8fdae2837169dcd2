// Bare repositories for the onboarding tests when test/support/git.ts (the git activities' helpers)
// is not enough: a seeded bare repo, a commit on a branch from a scratch clone, reading a file at a ref.
import { execFile } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);
const IDENT = { GIT_AUTHOR_NAME: 'Test', GIT_AUTHOR_EMAIL: 'test@cedille.test', GIT_COMMITTER_NAME: 'Test', GIT_COMMITTER_EMAIL: 'test@cedille.test' };

export async function git(cwd: string, ...args: string[]): Promise<string> {
  return (await run('git', ['-C', cwd, ...args], { env: { ...process.env, ...IDENT }, maxBuffer: 32 * 1024 * 1024 })).stdout.trim();
}

/** A scratch directory removed by `cleanup()`. */
export function scratch(prefix: string): { dir: string; cleanup(): void } {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  return { dir, cleanup: () => rmSync(dir, { recursive: true, force: true }) };
}

/** A bare repository under `dir` whose main holds `files`. */
export async function seededBareRepo(dir: string, name: string, files: Record<string, string>): Promise<string> {
  const bare = join(dir, `${name}.git`);
  await run('git', ['init', '--quiet', '--bare', '--initial-branch=main', bare]);
  await commitTo(bare, 'main', files, 'Seed', { base: undefined });
  return bare;
}

/** Commits `files` on `branch` (created from `base`, default main) and pushes it; returns the commit. */
export async function commitTo(bare: string, branch: string, files: Record<string, string>, message: string, opts: { base?: string | undefined } = { base: 'main' }): Promise<string> {
  const work = mkdtempSync(join(tmpdir(), 'cedille-git-work-'));
  try {
    await run('git', ['init', '--quiet', `--initial-branch=${branch}`, work]);
    if (opts.base !== undefined) {
      await git(work, 'fetch', '--quiet', bare, `${opts.base}`);
      await git(work, 'reset', '--quiet', '--hard', 'FETCH_HEAD');
    }
    for (const [path, text] of Object.entries(files)) {
      mkdirSync(dirname(join(work, path)), { recursive: true });
      writeFileSync(join(work, path), text);
    }
    await git(work, 'add', '-A');
    await git(work, 'commit', '--quiet', '-m', message);
    await git(work, 'push', '--quiet', '--force', bare, `HEAD:refs/heads/${branch}`);
    return await git(work, 'rev-parse', 'HEAD');
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}

export async function showFile(bare: string, ref: string, path: string): Promise<string> {
  return git(bare, 'show', `${ref}:${path}`);
}
