// Chromium for the browser tests (the approval page): $CHROMIUM_PATH, a `chromium` on PATH, or
// Debian's package, installed when we may (root) — playwright's own browser download cannot work
// on machines that reach only package registries.
import { existsSync } from 'node:fs';
import { run, say } from './run.ts';
import { onPath } from './temporal.ts';

export async function ensureChromium(env = process.env): Promise<string> {
  if (env.CHROMIUM_PATH) {
    if (!existsSync(env.CHROMIUM_PATH)) throw new Error(`CHROMIUM_PATH=${env.CHROMIUM_PATH} does not exist`);
    return env.CHROMIUM_PATH;
  }
  const found = onPath('chromium', env);
  if (found) return found;
  if (process.getuid?.() !== 0) throw new Error("Chromium is missing: install Debian's `chromium` package or set CHROMIUM_PATH");
  say("installing Debian's chromium package (for the approval page tests)");
  await run('apt-get', ['update', '-qq']);
  await run('apt-get', ['install', '-y', '-qq', '--no-install-recommends', 'chromium'], { env: { ...env, DEBIAN_FRONTEND: 'noninteractive' } });
  const installed = onPath('chromium', env);
  if (!installed) throw new Error('apt-get installed chromium but it is not on PATH');
  return installed;
}
