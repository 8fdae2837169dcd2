// The backup agent's process: `node --import tsx backup-agent/main.ts backup|restore|verify ...`
// (flags in cli.ts, docs/BACKUP-AGENT.md). The last stdout line is the JSON result; stderr carries one JSON
// object per line (progress, errors); exit 0 ok, 1 failure, 2 bad usage, 3 checksum/authentication failure.
import { EventEmitter } from 'node:events';
import { parseCommandLine, USAGE } from './cli.ts';
import { exitCodeOf } from './errors.ts';
import { smallYoungGeneration } from './memory.ts';
import { stderrLogger as log } from './log.ts';
import { runBackup } from './backup.ts';
import { runRestore, verifyBackup } from './restore.ts';

export { runBackup } from './backup.ts';
export { runRestore, verifyBackup, loadManifest } from './restore.ts';
export type { BackupManifest } from './manifest.ts';
export { objectNames } from './names.ts';

async function main(argv: string[]): Promise<number> {
  // The GCS library's download streams add more than 10 listeners by design; its warning would break
  // stderr's one-JSON-object-per-line format.
  EventEmitter.defaultMaxListeners = 64;
  smallYoungGeneration();
  try {
    const parsed = parseCommandLine(argv);
    if (parsed.command === 'help') {
      process.stdout.write(`${USAGE}\n`);
      return 0;
    }
    const result =
      parsed.command === 'backup'
        ? await runBackup({ ...parsed.opts, log })
        : parsed.command === 'restore'
          ? await runRestore({ ...parsed.opts, log })
          : await verifyBackup({ ...parsed.opts, log });
    process.stdout.write(`${JSON.stringify(result)}\n`);
    return 0;
  } catch (err) {
    const e = err as Error & { flag?: string };
    const exitCode = exitCodeOf(err);
    log.error('failed', { error: e.name, message: e.message, ...(e.flag ? { flag: e.flag } : {}), exitCode });
    if (exitCode === 2) process.stderr.write(`${USAGE}\n`);
    return exitCode;
  }
}

if (import.meta.url === `file://${process.argv[1]}` || process.argv[1]?.endsWith('backup-agent/main.ts')) {
  const code = await main(process.argv.slice(2));
  // Let stdout drain, then leave even if a library keeps a socket or timer alive.
  process.stdout.write('', () => process.exit(code));
}
