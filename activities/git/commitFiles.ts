import { defineActivity } from '../define.ts';
import { commitFiles, CommitFilesInput, CommitFilesOutput } from './_commit.ts';

export default defineActivity({
  name: 'git.commitFiles',
  description:
    'Commits files (path -> content, null deletes) and structured edits (e.g. an entry added to a kustomization) to a ' +
    'branch of a git remote, creating the branch from `base` (default: the default branch) when absent. Idempotent: the ' +
    'same content already on the branch makes no new commit (changed: false). Edits are applied on the branch tip at ' +
    'commit time; a push rejected because the branch moved is rebuilt on the new tip and retried, so concurrent writers ' +
    'never lose an update. An unreachable remote is retried (GitRemoteUnavailable); bad refs/paths/edits are not.',
  input: CommitFilesInput,
  output: CommitFilesOutput,
  async handler(input, ctx) {
    // Heartbeats also while waiting for the clone's lock (another operation on the same remote).
    let last: unknown = { phase: 'waiting for the clone' };
    const timer = setInterval(() => ctx.heartbeat(last), 5_000);
    try {
      return await commitFiles(input, { signal: ctx.signal, heartbeat: (d) => ctx.heartbeat((last = d)) });
    } finally {
      clearInterval(timer);
    }
  },
});
