// A non-dev OpenBao for tests that need the real init and unseal: integrated (raft) storage of one
// node in a temp dir (OpenBao 2.x has no file storage), Shamir seal, a TLS listener on loopback with a given
// certificate (e.g. the one a bootstrap generated) or plain HTTP, and an audit file. API-created
// audit devices are allowed (`unsafe_allow_api_audit_creation`) so a bootstrap can enable one.
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { request as httpRequest, type IncomingMessage } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ensureOpenBao } from '../../infra/tools/openbao.ts';
import { startLocalProcess, type LocalProcess } from '../../infra/tools/local-process.ts';
import { freePort } from '../../infra/tools/temporal-dev-server.ts';

export interface OpenBaoTls {
  certPem: string;
  keyPem: string;
  caPem: string;
}

export interface OpenBaoServer {
  /** https://127.0.0.1:<port> (or http:// without TLS) */
  address: string;
  port: number;
  dir: string;
  /** Where an audit device should write (inside dir). */
  auditFile: string;
  /** GET/PUT/POST on the API, verified with the CA; resolves status and parsed body. */
  api(method: string, path: string, opts?: { token?: string; body?: unknown }): Promise<{ status: number; body: Record<string, unknown> }>;
  output(): string;
  stop(): Promise<void>;
}

export interface OpenBaoServerOptions {
  port?: number;
  tls?: OpenBaoTls;
}

export async function startOpenBaoServer(opts: OpenBaoServerOptions = {}): Promise<OpenBaoServer> {
  const bin = await ensureOpenBao();
  const port = opts.port ?? (await freePort());
  const clusterPort = await freePort();
  const dir = mkdtempSync(join(process.env.CEDILLE_TEST_SCRATCH ?? tmpdir(), 'openbao-'));
  mkdirSync(join(dir, 'data'));
  const listener = opts.tls
    ? [`  tls_cert_file = "${join(dir, 'tls.crt')}"`, `  tls_key_file  = "${join(dir, 'tls.key')}"`]
    : ['  tls_disable = true'];
  if (opts.tls) {
    writeFileSync(join(dir, 'tls.crt'), opts.tls.certPem);
    writeFileSync(join(dir, 'tls.key'), opts.tls.keyPem, { mode: 0o600 });
  }
  const scheme = opts.tls ? 'https' : 'http';
  const address = `${scheme}://127.0.0.1:${port}`;
  writeFileSync(join(dir, 'config.hcl'), [
    `storage "raft" {\n  path    = "${join(dir, 'data')}"\n  node_id = "test-0"\n}`,
    `listener "tcp" {\n  address = "127.0.0.1:${port}"\n${listener.join('\n')}\n}`,
    `api_addr = "${address}"`,
    `cluster_addr = "https://127.0.0.1:${clusterPort}"`,
    'unsafe_allow_api_audit_creation = true',
    'log_level = "warn"',
    '',
  ].join('\n'));

  const api: OpenBaoServer['api'] = (method, path, o = {}) =>
    new Promise((resolve, reject) => {
      const body = o.body === undefined ? undefined : JSON.stringify(o.body);
      const url = new URL(`/v1/${path}`, address);
      const headers: Record<string, string> = { ...(o.token ? { 'x-vault-token': o.token } : {}), ...(body ? { 'content-type': 'application/json' } : {}) };
      const done = (res: IncomingMessage) => {
        let text = '';
        res.setEncoding('utf8');
        res.on('data', (d: string) => (text += d));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body: text ? (JSON.parse(text) as Record<string, unknown>) : {} }));
      };
      const req = opts.tls
        ? httpsRequest(url, { method, headers, ca: opts.tls.caPem }, done)
        : httpRequest(url, { method, headers }, done);
      req.on('error', reject);
      req.end(body);
    });

  let proc: LocalProcess | undefined;
  try {
    proc = await startLocalProcess({
      name: 'openbao (non-dev)',
      cmd: bin,
      args: ['server', `-config=${join(dir, 'config.hcl')}`],
      env: { ...process.env, HOME: process.env.HOME ?? '/tmp' },
      ready: async () => (await api('GET', 'sys/health')).status > 0,
    });
  } catch (err) {
    rmSync(dir, { recursive: true, force: true });
    throw err;
  }
  const running = proc;
  return {
    address,
    port,
    dir,
    auditFile: join(dir, 'audit.log'),
    api,
    output: () => running.output(),
    async stop() {
      await running.stop();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

