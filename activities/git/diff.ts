import { z } from 'zod';
import { defineActivity } from '../define.ts';
import { resolveRef, withRepo } from './_repo.ts';

const STATUS: Record<string, 'added' | 'modified' | 'deleted' | 'typechange'> = { A: 'added', M: 'modified', D: 'deleted', T: 'typechange' };
const MAX_DIFF = 1024 * 1024;

export default defineActivity({
  name: 'git.diff',
  description:
    'The changes of `head` since it forked from `base` (git diff base...head, what a pull request shows): a unified ' +
    'diff and the changed files with their status. Refs are branches or commit ids. The diff text is cut at 1 MiB.',
  input: z.strictObject({
    repository: z.string().min(1).describe('URL (https://, file://) or local path of the remote'),
    base: z.string().min(1).max(200).describe('branch or commit the change is compared to'),
    head: z.string().min(1).max(200).describe('branch or commit holding the change'),
  }),
  output: z.object({
    base: z.string().describe('merge base commit'),
    head: z.string().describe('head commit'),
    diff: z.string(),
    truncated: z.boolean(),
    files: z.array(z.object({ path: z.string(), status: z.enum(['added', 'modified', 'deleted', 'typechange']) })),
  }),
  async handler({ repository, base, head }, ctx) {
    return withRepo(
      repository,
      async (repo) => {
        const [b, h] = await Promise.all([resolveRef(repo, base), resolveRef(repo, head)]);
        const mergeBase = await repo.text(['merge-base', b.commit, h.commit]).catch(() => b.commit);
        const names = (await repo.git(['diff', '--no-renames', '--name-status', '-z', mergeBase, h.commit])).toString('utf8').split('\0');
        const files = [];
        for (let i = 0; i + 1 < names.length; i += 2) files.push({ path: names[i + 1]!, status: STATUS[names[i]!] ?? 'modified' });
        const full = (await repo.git(['diff', '--no-renames', '--no-color', '--no-ext-diff', mergeBase, h.commit])).toString('utf8');
        const truncated = full.length > MAX_DIFF;
        return { base: mergeBase, head: h.commit, diff: truncated ? full.slice(0, MAX_DIFF) : full, truncated, files };
      },
      { signal: ctx.signal },
    );
  },
});
