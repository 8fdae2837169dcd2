// kubectl for `kubectl kustomize`: KUBECTL_PATH, else the project's pinned build when it is already
// built (infra/tools/kubernetes; never built from an activity), else `kubectl` on PATH.
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { ApplicationFailure } from '@temporalio/common';
import { pinnedKubeDir } from '../../infra/tools/kubernetes/pinned.ts';

/** What runKubectl spawns (KUBECTL_PATH or the pinned build may point elsewhere; the app image installs `kubectl`). */
export const SPAWNED_BINARIES = ['kubectl'] as const;

export function kubectlPath(env: NodeJS.ProcessEnv = process.env): string {
  if (env.KUBECTL_PATH) {
    if (!existsSync(env.KUBECTL_PATH)) {
      throw ApplicationFailure.create({ message: `KUBECTL_PATH=${env.KUBECTL_PATH} does not exist`, type: 'KubectlNotFound', nonRetryable: true });
    }
    return env.KUBECTL_PATH;
  }
  try {
    const pinned = pinnedKubeDir(env);
    if (existsSync(join(pinned, '.installed'))) return join(pinned, 'kubectl');
  } catch {
    // no infra/tools/kubernetes module here (a slim image): PATH
  }
  return 'kubectl';
}

/** Runs kubectl; resolves { code, stdout, stderr } (a missing binary is a non-retryable KubectlNotFound). */
export function runKubectl(args: string[], opts: { signal?: AbortSignal; cwd?: string } = {}): Promise<{ code: number; stdout: string; stderr: string }> {
  const bin = kubectlPath();
  return new Promise((resolve, reject) => {
    const child = spawn(bin, args, { cwd: opts.cwd, signal: opts.signal, stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, KUBECONFIG: '/dev/null' } });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    child.stdout.on('data', (c: Buffer) => out.push(c));
    child.stderr.on('data', (c: Buffer) => err.push(c));
    child.on('error', (e: NodeJS.ErrnoException) => {
      if (e.code === 'ENOENT') {
        reject(ApplicationFailure.create({ message: `kubectl not found (${bin}): set KUBECTL_PATH on the worker`, type: 'KubectlNotFound', nonRetryable: true }));
      } else reject(e);
    });
    child.on('close', (code) => resolve({ code: code ?? 1, stdout: Buffer.concat(out).toString('utf8'), stderr: Buffer.concat(err).toString('utf8') }));
  });
}
