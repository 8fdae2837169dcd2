import { ApplicationFailure } from '@temporalio/common';
import { z } from 'zod';
import { defineActivity } from '../define.ts';
import { checkPath, listTree, readBlobs, resolveRef, withRepo } from './_repo.ts';

const MAX_BYTES = 4 * 1024 * 1024;

export default defineActivity({
  name: 'git.readFiles',
  description:
    'Reads text files of a git remote at a ref (branch or commit; default: the default branch): the given paths, ' +
    'every file under a prefix, or both. Paths that do not exist are listed in `missing`. At most 4 MiB in total.',
  input: z.strictObject({
    repository: z.string().min(1).describe('URL (https://, file://) or local path of the remote'),
    ref: z.string().min(1).max(200).optional().describe('branch or commit id (default: the default branch)'),
    paths: z.array(z.string().min(1)).max(1000).optional(),
    prefix: z.string().min(1).optional().describe('folder: every file under it'),
  }),
  output: z.object({
    commit: z.string(),
    files: z.record(z.string(), z.string()),
    missing: z.array(z.string()),
  }),
  async handler({ repository, ref, paths, prefix }, ctx) {
    return withRepo(
      repository,
      async (repo) => {
        const { commit } = await resolveRef(repo, ref);
        const wanted = (paths ?? []).map(checkPath);
        const dir = prefix ? `${checkPath(prefix.replace(/\/+$/, ''))}/` : undefined;
        const entries = await listTree(repo, commit, [...wanted, ...(dir ? [dir] : [])]);
        const selected = entries.filter((e) => wanted.includes(e.path) || (dir !== undefined && e.path.startsWith(dir)));
        const blobs = await readBlobs(repo, selected.map((e) => e.oid));
        const files: Record<string, string> = {};
        let total = 0;
        for (const e of selected.sort((a, b) => (a.path < b.path ? -1 : 1))) {
          const blob = blobs.get(e.oid) ?? Buffer.alloc(0);
          total += blob.length;
          if (total > MAX_BYTES) {
            throw ApplicationFailure.create({ message: `git.readFiles: more than ${MAX_BYTES} bytes selected; narrow paths/prefix`, type: 'GitInvalidInput', nonRetryable: true });
          }
          files[e.path] = blob.toString('utf8');
        }
        return { commit, files, missing: wanted.filter((p) => !(p in files)) };
      },
      { signal: ctx.signal },
    );
  },
});
