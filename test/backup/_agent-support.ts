// Helpers of the backup agent tests: the agent run as a process (`node --import tsx backup-agent/main.ts`)
// against the shared fake-gcs-server and dev OpenBao of test/run.ts, a fresh bucket and transit key per
// test, generated volumes, and tree snapshots to compare a restore with its source.
import { spawn } from 'node:child_process';
import { createHash, randomBytes, randomUUID } from 'node:crypto';
import { createReadStream, mkdtempSync, rmSync, type Stats } from 'node:fs';
import { lstat, readdir, readlink } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const REPO = fileURLToPath(new URL('../..', import.meta.url));
export const AGENT = join(REPO, 'backup-agent/main.ts');
/** The environment backup-agent/Dockerfile gives the agent (glibc allocator settings). */
export const IMAGE_ENV = { MALLOC_MMAP_THRESHOLD_: '131072', MALLOC_ARENA_MAX: '2' };

export function gcsUrl(): string {
  const url = process.env.CEDILLE_TEST_GCS_URL;
  if (!url) throw new Error('CEDILLE_TEST_GCS_URL is not set: run through test/run.ts');
  return url;
}

export function vaultEnv(): { addr: string; token: string } {
  const addr = process.env.CEDILLE_TEST_VAULT_ADDR;
  const token = process.env.CEDILLE_TEST_VAULT_TOKEN;
  if (!addr || !token) throw new Error('CEDILLE_TEST_VAULT_ADDR / CEDILLE_TEST_VAULT_TOKEN are not set: run through test/run.ts');
  return { addr, token };
}

async function vault(method: string, path: string, body?: unknown): Promise<Response> {
  const { addr, token } = vaultEnv();
  return fetch(`${addr}/v1/${path}`, { method, headers: { 'X-Vault-Token': token, 'content-type': 'application/json' }, ...(body ? { body: JSON.stringify(body) } : {}) });
}

/** Enables transit (once; "already in use" is fine) and creates a fresh transit key; returns its name. */
export async function transitKey(): Promise<string> {
  const mount = await vault('POST', 'sys/mounts/transit', { type: 'transit' });
  if (!mount.ok && !(await mount.text()).includes('already in use')) throw new Error(`enabling transit: HTTP ${mount.status}`);
  const name = `backup-${randomUUID().slice(0, 8)}`;
  const res = await vault('POST', `transit/keys/${name}`, {});
  if (!res.ok) throw new Error(`creating transit key ${name}: HTTP ${res.status} ${await res.text()}`);
  return name;
}

export async function freshBucket(): Promise<string> {
  const name = `agent-${randomUUID().slice(0, 12)}`;
  const res = await fetch(`${gcsUrl()}/storage/v1/b?project=test`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ name }) });
  if (!res.ok) throw new Error(`creating bucket ${name}: HTTP ${res.status} ${await res.text()}`);
  return name;
}

const objectUrl = (base: string, bucket: string, name: string) => `${base}/storage/v1/b/${bucket}/o/${encodeURIComponent(name)}`;

export async function getObject(bucket: string, name: string, base = gcsUrl()): Promise<Buffer> {
  const res = await fetch(`${objectUrl(base, bucket, name)}?alt=media`);
  if (!res.ok) throw new Error(`GET gs://${bucket}/${name}: HTTP ${res.status}`);
  return Buffer.from(await res.arrayBuffer());
}

/** Uploads (overwrites) an object; returns its new generation. */
export async function putObject(bucket: string, name: string, data: Buffer | string, base = gcsUrl()): Promise<string> {
  const res = await fetch(`${base}/upload/storage/v1/b/${bucket}/o?uploadType=media&name=${encodeURIComponent(name)}`, { method: 'POST', body: data, headers: { 'content-type': 'application/octet-stream' } });
  if (!res.ok) throw new Error(`PUT gs://${bucket}/${name}: HTTP ${res.status}`);
  return String(((await res.json()) as { generation: string | number }).generation);
}

export async function objectExists(bucket: string, name: string, base = gcsUrl()): Promise<boolean> {
  return (await fetch(objectUrl(base, bucket, name))).ok;
}

export interface AgentRun {
  code: number;
  stdout: string;
  stderr: string;
  /** The last stdout line, parsed (the agent's result). */
  result: Record<string, unknown> | undefined;
  /** stderr lines that are JSON objects, and whether every non-empty line was one. */
  logs: Record<string, unknown>[];
  allLogsJson: boolean;
  /** Peak RSS of the agent process (VmHWM, kB), sampled every 100 ms; 0 if it exited before the first read. */
  vmHwmKb: number;
  ms: number;
}

export interface AgentOptions {
  env?: NodeJS.ProcessEnv;
  timeoutMs?: number;
  /** Called with the process id once spawned. */
  onSpawn?(pid: number): void;
}

/** Runs the agent CLI as its own process with VAULT_TOKEN of the test OpenBao unless `env` overrides it. */
export function runAgent(args: string[], opts: AgentOptions = {}): Promise<AgentRun> {
  const t0 = Date.now();
  const child = spawn(process.execPath, ['--import', 'tsx', AGENT, ...args], {
    cwd: REPO,
    env: { PATH: process.env.PATH, HOME: process.env.HOME, ...IMAGE_ENV, VAULT_TOKEN: process.env.CEDILLE_TEST_VAULT_TOKEN, ...opts.env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  if (child.pid) opts.onSpawn?.(child.pid);
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  let vmHwmKb = 0;
  const sample = async () => {
    try {
      const status = await import('node:fs/promises').then((fs) => fs.readFile(`/proc/${child.pid}/status`, 'utf8'));
      const kb = Number(/VmHWM:\s+(\d+)/.exec(status)?.[1] ?? 0);
      if (kb > vmHwmKb) vmHwmKb = kb;
    } catch {
      /* exited */
    }
  };
  const sampler = setInterval(() => void sample(), 100);
  const timer = setTimeout(() => child.kill('SIGKILL'), opts.timeoutMs ?? 300_000);
  return new Promise((resolve) => {
    child.on('exit', (code, signal) => {
      clearInterval(sampler);
      clearTimeout(timer);
      // Let the pipes drain.
      setImmediate(() => {
        const lines = stdout.trim().split('\n');
        let result: Record<string, unknown> | undefined;
        try {
          result = JSON.parse(lines[lines.length - 1] ?? '') as Record<string, unknown>;
        } catch {
          result = undefined;
        }
        const logs: Record<string, unknown>[] = [];
        let allLogsJson = true;
        for (const line of stderr.split('\n').filter((l) => l.trim())) {
          try {
            logs.push(JSON.parse(line) as Record<string, unknown>);
          } catch {
            allLogsJson = false;
          }
        }
        resolve({ code: code ?? (signal ? 128 : 1), stdout, stderr, result, logs, allLogsJson, vmHwmKb, ms: Date.now() - t0 });
      });
    });
  });
}

/** A temp directory removed by `cleanup`. */
export function tempDir(tag: string): { path: string; cleanup(): void } {
  const path = mkdtempSync(join(process.env.CEDILLE_TEST_SCRATCH ?? tmpdir(), `agent-${tag}-`));
  return { path, cleanup: () => rmSync(path, { recursive: true, force: true }) };
}

export interface BackupArgs {
  source: string;
  bucket: string;
  prefix: string;
  transitKey: string;
  extra?: string[];
}

export function backupArgs(a: BackupArgs): string[] {
  return ['backup', '--source', a.source, '--bucket', a.bucket, '--prefix', a.prefix, '--namespace', 'club-demo', '--pvc', 'data', '--snapshot', 'data-snap-1',
    '--snapshot-time', '2026-11-21T07:00:00Z', '--gcs-endpoint', gcsUrl(), '--vault-addr', vaultEnv().addr, '--transit-key', a.transitKey, ...(a.extra ?? [])];
}

export function restoreArgs(bucket: string, manifest: string, target: string, extra: string[] = []): string[] {
  return ['restore', '--bucket', bucket, '--manifest', manifest, '--target', target, '--gcs-endpoint', gcsUrl(), '--vault-addr', vaultEnv().addr, ...extra];
}

export function verifyArgs(bucket: string, manifest: string): string[] {
  return ['verify', '--bucket', bucket, '--manifest', manifest, '--gcs-endpoint', gcsUrl()];
}

export interface TreeEntry {
  type: 'file' | 'dir' | 'symlink' | 'other';
  mode: number;
  size?: number;
  sha256?: string;
  target?: string;
  mtime?: number;
  uid: number;
  gid: number;
}

function sha256File(path: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const h = createHash('sha256');
    createReadStream(path).on('data', (d) => h.update(d)).on('error', reject).on('end', () => resolve(h.digest('hex')));
  });
}

/** Every path under `root` (relative) with type, mode, owner, content hash, symlink target and file mtime (s). */
export async function snapshotTree(root: string): Promise<Map<string, TreeEntry>> {
  const out = new Map<string, TreeEntry>();
  const walk = async (rel: string) => {
    for (const name of (await readdir(join(root, rel))).sort()) {
      const r = rel ? `${rel}/${name}` : name;
      const abs = join(root, r);
      const st: Stats = await lstat(abs);
      const base = { mode: st.mode & 0o7777, uid: st.uid, gid: st.gid };
      if (st.isSymbolicLink()) out.set(r, { type: 'symlink', ...base, mode: 0, target: await readlink(abs) });
      else if (st.isDirectory()) {
        out.set(r, { type: 'dir', ...base });
        await walk(r);
      } else if (st.isFile()) out.set(r, { type: 'file', ...base, size: st.size, sha256: await sha256File(abs), mtime: Math.floor(st.mtimeMs / 1000) });
      else out.set(r, { type: 'other', ...base });
    }
  };
  await walk('');
  return out;
}

/** Incompressible bytes (deterministic size, random content). */
export function randomContent(bytes: number): Buffer {
  return randomBytes(bytes);
}
