// `npm test`: installs the pinned tools if needed, starts the shared real servers once (loopback,
// free ports), runs every test file with node's test runner, and tears the servers down even on
// failure. Tests find the servers through environment variables:
//   TEMPORAL_ADDRESS, TEMPORAL_NAMESPACE, CEDILLE_WORKFLOW_BUNDLE (pre-built workflow bundle).
// Arguments narrow the run: `npm test -- test/compiler` or a file list.
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync, readdirSync, statSync } from 'node:fs';
import { tmpdir, cpus } from 'node:os';
import { join, relative } from 'node:path';
import { startDevServer } from '../infra/tools/temporal-dev-server.ts';
import { buildWorkflowBundle } from '../worker/bundle.ts';
import { ensureChromium } from '../infra/tools/chromium.ts';

function testFiles(paths: string[]): string[] {
  const out: string[] = [];
  const walk = (p: string) => {
    if (statSync(p).isDirectory()) for (const f of readdirSync(p).sort()) walk(join(p, f));
    else if (p.endsWith('.test.ts')) out.push(p);
  };
  for (const p of paths.length ? paths : ['test']) walk(p);
  return out;
}

const files = testFiles(process.argv.slice(2));
// Only browser tests need Chromium; install it (as root) before any server starts.
const chromium = files.some((f) => f.endsWith('approval-page.test.ts')) ? await ensureChromium() : undefined;
const scratch = mkdtempSync(join(tmpdir(), 'cedille-test-'));
const server = await startDevServer();
const cleanup = async () => {
  await server.stop();
  rmSync(scratch, { recursive: true, force: true });
};
process.on('SIGINT', () => void cleanup().then(() => process.exit(130)));
process.on('SIGTERM', () => void cleanup().then(() => process.exit(143)));

let code = 1;
try {
  const bundlePath = join(scratch, 'workflow-bundle.js');
  writeFileSync(bundlePath, (await buildWorkflowBundle()).code);
  process.stderr.write(`[test] temporal ${server.address}; ${files.length} test files\n`);
  code = await new Promise<number>((resolve) => {
    const child = spawn(
      process.execPath,
      ['--import', 'tsx', '--test', `--test-concurrency=${Math.max(1, cpus().length)}`, ...files.map((f) => relative(process.cwd(), f))],
      {
        stdio: 'inherit',
        env: {
          ...process.env,
          TEMPORAL_ADDRESS: server.address,
          TEMPORAL_NAMESPACE: server.namespace,
          CEDILLE_WORKFLOW_BUNDLE: bundlePath,
          CEDILLE_TEST_SCRATCH: scratch,
          ...(chromium ? { CHROMIUM_PATH: chromium } : {}),
        },
      },
    );
    child.on('exit', (c, sig) => resolve(c ?? (sig ? 1 : 0)));
  });
} finally {
  await cleanup();
}
process.exit(code);
