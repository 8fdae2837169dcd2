// Building pinned Go tools into the tools cache: the Go toolchain, and an atomic build directory.
import { existsSync, mkdirSync, mkdtempSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { run, say } from './run.ts';
import { onPath } from './pip-tool.ts';

export function goBinary(env: NodeJS.ProcessEnv, what: string, alternative = 'a prebuilt binary'): string {
  const go = env.GO || onPath('go', env);
  if (!go) throw new Error(`${what} needs Go >= 1.25 (\`go\` on PATH or $GO), or ${alternative}`);
  return go;
}

/** Builds into a temp dir next to `dir` and renames it into place, so a half build is never used. */
export async function buildInto(dir: string, what: string, build: (tmp: string) => Promise<void>): Promise<void> {
  mkdirSync(join(dir, '..'), { recursive: true });
  const tmp = mkdtempSync(`${dir}.partial-`);
  const started = Date.now();
  try {
    await build(tmp);
    writeFileSync(join(tmp, '.installed'), `${what}\n`);
    rmSync(dir, { recursive: true, force: true });
    renameSync(tmp, dir);
  } catch (err) {
    rmSync(tmp, { recursive: true, force: true });
    if (existsSync(join(dir, '.installed'))) return; // another process finished the same build first
    throw err;
  }
  say(`${what} ready in ${dir} (${Math.round((Date.now() - started) / 1000)} s)`);
}

/** `go install <module path>@v<version>` into `dir` (once; a marker file says it completed). Returns `dir/<bin>`. */
export async function goInstall(dir: string, bin: string, pkg: string, version: string, env = process.env): Promise<string> {
  const path = join(dir, bin);
  if (existsSync(join(dir, '.installed'))) return path;
  const go = goBinary(env, `installing ${bin}`);
  const what = `${bin} v${version}`;
  say(`installing ${what} (go install ${pkg}) into ${dir}`);
  await buildInto(dir, what, (tmp) =>
    run(go, ['install', '-trimpath', '-ldflags', '-s -w', `${pkg}@v${version}`], {
      env: { ...env, CGO_ENABLED: '0', GOFLAGS: '', GOBIN: tmp },
    }),
  );
  return path;
}
