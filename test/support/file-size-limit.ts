// A crash in the middle of writing a file, reproduced without timing: the snippet runs in a child
// process whose file size limit (`ulimit -f`, 512-byte blocks) is smaller than what it writes, so
// the write fails part-way (EFBIG) exactly as a full disk or a crash would leave it.
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';

const repo = join(import.meta.dirname, '..', '..');

/** Runs `script` (ES module code; import repository files by absolute path) limited to `blocks` × 512 bytes per file written. */
export function runWithFileSizeLimit(script: string, blocks: number): { status: number | null; stderr: string } {
  const child = spawnSync('sh', ['-c', `ulimit -f ${blocks} && exec "$0" --import tsx --input-type=module -e "$1"`, process.execPath, script], {
    cwd: repo,
    // tsx's transform cache would be written under the same limit.
    env: { ...process.env, TSX_DISABLE_CACHE: '1' },
    encoding: 'utf8',
  });
  return { status: child.status, stderr: child.stderr };
}

/** The absolute path of a repository file, for `import` in a limited script. */
export const repoFile = (path: string) => join(repo, path);
