// Command-line and environment parsing of the agent: every flag `--x-y` can also come from BACKUP_X_Y
// (VAULT_* for the --vault-* flags, and VAULT_TOKEN for a token); the flag wins. Problems are UsageErrors
// naming the flag (exit 2).
import { parseArgs } from 'node:util';
import { UsageError } from './errors.ts';
import type { BackupOptions } from './backup.ts';
import type { RestoreOptions, VerifyOptions } from './restore.ts';
import type { VaultOptions } from './keys.ts';
import type { GcsOptions } from './gcs.ts';

export const COMMANDS = ['backup', 'restore', 'verify'] as const;
export type Command = (typeof COMMANDS)[number];

const FLAGS = [
  'source', 'bucket', 'prefix', 'namespace', 'pvc', 'snapshot', 'snapshot-time', 'gcs-endpoint', 'project',
  'vault-addr', 'vault-token-file', 'vault-role', 'vault-jwt-file', 'vault-auth-mount', 'vault-namespace',
  'transit-key', 'transit-mount', 'compression-level', 'upload-chunk-mib', 'progress-seconds', 'manifest', 'target',
  'gcs-retry-seconds',
] as const;
type Flag = (typeof FLAGS)[number];

const USED_BY: Record<Command, Flag[]> = {
  backup: ['source', 'bucket', 'prefix', 'namespace', 'pvc', 'snapshot', 'snapshot-time', 'gcs-endpoint', 'project', 'vault-addr', 'vault-token-file', 'vault-role', 'vault-jwt-file', 'vault-auth-mount', 'vault-namespace', 'transit-key', 'transit-mount', 'compression-level', 'upload-chunk-mib', 'progress-seconds', 'gcs-retry-seconds'],
  restore: ['bucket', 'manifest', 'target', 'gcs-endpoint', 'project', 'vault-addr', 'vault-token-file', 'vault-role', 'vault-jwt-file', 'vault-auth-mount', 'vault-namespace', 'transit-key', 'transit-mount', 'progress-seconds', 'gcs-retry-seconds'],
  verify: ['bucket', 'manifest', 'gcs-endpoint', 'project', 'progress-seconds', 'gcs-retry-seconds'],
};

export const SERVICE_ACCOUNT_TOKEN = '/var/run/secrets/kubernetes.io/serviceaccount/token';

export function envName(flag: string): string {
  const upper = flag.toUpperCase().replace(/-/g, '_');
  return upper.startsWith('VAULT_') ? upper : `BACKUP_${upper}`;
}

export const USAGE = `usage:
  backup-agent backup --source <dir> --bucket <b> --prefix <objectPrefix> --namespace <ns> --pvc <name>
      [--snapshot <name>] [--snapshot-time <RFC3339>] [--gcs-endpoint <url>] [--project <id>]
      --vault-addr <url> (--vault-token-file <f> | VAULT_TOKEN | --vault-role <r> [--vault-jwt-file <f>])
      --transit-key <name> [--transit-mount transit] [--compression-level 0-9] [--upload-chunk-mib 8]
      [--gcs-retry-seconds 600] [--progress-seconds 10] [--vault-auth-mount kubernetes] [--vault-namespace ns]
  backup-agent restore --bucket <b> --manifest <object> --target <dir> [--gcs-endpoint <url>] [vault flags]
  backup-agent verify --bucket <b> --manifest <object> [--gcs-endpoint <url>]
Every flag --x-y can be given as BACKUP_X_Y (VAULT_X for --vault-x). Result: the last stdout line (JSON).
GCS credentials: GOOGLE_APPLICATION_CREDENTIALS (an external_account or key file); none for a --gcs-endpoint
without it (an emulator).
Exit codes: 0 ok, 1 failure, 2 bad usage, 3 checksum or authentication failure (a refused credential exchange too).`;

export type Parsed =
  | { command: 'backup'; opts: BackupOptions }
  | { command: 'restore'; opts: RestoreOptions }
  | { command: 'verify'; opts: VerifyOptions }
  | { command: 'help' };

const RFC3339 = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$/;
const bucketName = /^[a-z0-9][a-z0-9._-]{1,220}[a-z0-9]$/;

export function parseCommandLine(argv: string[], env: NodeJS.ProcessEnv = process.env): Parsed {
  const [command, ...rest] = argv;
  if (command === undefined || command === 'help' || command === '--help' || command === '-h') return { command: 'help' };
  if (!(COMMANDS as readonly string[]).includes(command)) throw new UsageError('command', `unknown command ${JSON.stringify(command)}; expected ${COMMANDS.join(', ')}`);
  const cmd = command as Command;
  let values: Record<string, string | undefined>;
  try {
    values = parseArgs({ args: rest, strict: true, allowPositionals: false, options: Object.fromEntries(FLAGS.map((f) => [f, { type: 'string' as const }])) }).values as Record<string, string | undefined>;
  } catch (err) {
    const msg = (err as Error).message;
    const flag = /'(-{1,2}[^' ]+)/.exec(msg)?.[1] ?? 'arguments';
    throw new UsageError(flag, msg);
  }
  for (const f of FLAGS) if (values[f] !== undefined && !USED_BY[cmd].includes(f)) throw new UsageError(`--${f}`, `not an option of ${cmd}`);
  const get = (f: Flag): string | undefined => {
    const v = values[f] ?? env[envName(f)];
    return v === undefined || v === '' ? undefined : v;
  };
  const need = (f: Flag): string => {
    const v = get(f);
    if (v === undefined) throw new UsageError(`--${f}`, `required (or ${envName(f)})`);
    return v;
  };
  const url = (f: Flag, required: boolean): string | undefined => {
    const v = required ? need(f) : get(f);
    if (v !== undefined && !/^https?:\/\/[^\s/]+/.test(v)) throw new UsageError(`--${f}`, `not an http(s) URL: ${v}`);
    return v;
  };
  const int = (f: Flag, min: number, max: number): number | undefined => {
    const v = get(f);
    if (v === undefined) return undefined;
    const n = Number(v);
    if (!Number.isInteger(n) || n < min || n > max) throw new UsageError(`--${f}`, `expected an integer in ${min}..${max}, got ${JSON.stringify(v)}`);
    return n;
  };

  const bucket = need('bucket');
  if (!bucketName.test(bucket)) throw new UsageError('--bucket', `not a bucket name: ${JSON.stringify(bucket)}`);
  const endpoint = url('gcs-endpoint', false);
  const project = get('project');
  const retrySeconds = int('gcs-retry-seconds', 1, 86_400);
  const gcs: GcsOptions = { ...(endpoint ? { endpoint } : {}), ...(project ? { projectId: project } : {}), ...(retrySeconds ? { retrySeconds } : {}) };
  const progressSeconds = int('progress-seconds', 1, 3600);
  const common = { bucket, gcs, ...(progressSeconds ? { progressEveryMs: progressSeconds * 1000 } : {}) };

  const vault = (): VaultOptions => {
    const addr = url('vault-addr', true)!;
    const tokenFile = get('vault-token-file');
    const role = get('vault-role');
    const jwtFile = get('vault-jwt-file');
    const optional = { authMount: get('vault-auth-mount'), namespace: get('vault-namespace') };
    const extras = Object.fromEntries(Object.entries(optional).filter(([, v]) => v !== undefined)) as Partial<VaultOptions>;
    if (tokenFile && role) throw new UsageError('--vault-role', 'give either --vault-token-file or --vault-role, not both');
    if (tokenFile) return { addr, tokenFile, ...extras };
    if (role) return { addr, role, jwtFile: jwtFile ?? SERVICE_ACCOUNT_TOKEN, ...extras };
    if (jwtFile) throw new UsageError('--vault-role', 'required with --vault-jwt-file');
    if (env.VAULT_TOKEN) return { addr, token: env.VAULT_TOKEN, ...extras };
    throw new UsageError('--vault-token-file', 'Vault credentials needed: --vault-token-file, VAULT_TOKEN, or --vault-role (+ --vault-jwt-file)');
  };

  if (cmd === 'verify') return { command: 'verify', opts: { ...common, manifest: need('manifest') } };
  if (cmd === 'restore') {
    const transitKey = get('transit-key');
    const transitMount = get('transit-mount');
    return {
      command: 'restore',
      opts: { ...common, manifest: need('manifest'), target: need('target'), vault: vault(), ...(transitKey ? { transitKey } : {}), ...(transitMount ? { transitMount } : {}) },
    };
  }
  const snapshotTime = get('snapshot-time');
  if (snapshotTime !== undefined && !RFC3339.test(snapshotTime)) {
    throw new UsageError('--snapshot-time', `not an RFC 3339 time: ${JSON.stringify(snapshotTime)}`);
  }
  const prefix = need('prefix').replace(/^\/+|\/+$/g, '');
  if (!prefix) throw new UsageError('--prefix', 'must name a folder, not the bucket root');
  const snapshot = get('snapshot');
  const level = int('compression-level', 0, 9);
  const chunkMiB = int('upload-chunk-mib', 0, 256);
  const transitMount = get('transit-mount');
  return {
    command: 'backup',
    opts: {
      ...common,
      source: need('source'),
      prefix,
      namespace: need('namespace'),
      pvc: need('pvc'),
      ...(snapshot ? { snapshot } : {}),
      ...(snapshotTime ? { snapshotTime } : {}),
      vault: vault(),
      transitKey: need('transit-key'),
      ...(transitMount ? { transitMount } : {}),
      ...(level !== undefined ? { compressionLevel: level } : {}),
      ...(chunkMiB !== undefined ? { uploadChunkMiB: chunkMiB } : {}),
    },
  };
}
