// A real Kubernetes API on loopback for tests and `npm start -- --local-cluster`: etcd, kube-apiserver
// (envtest's flag set: RBAC, client certificates, service-account signing keys), kube-controller-manager
// (Deployments -> ReplicaSets -> Pods, namespaces, service accounts, garbage collection), kube-scheduler,
// and kwok, which plays the kubelets of N fake nodes: scheduled pods become Running and Ready without
// containers. Every port is a free loopback port; stop() kills every process group and removes a
// temporary directory. With `dataDir`, the PKI and etcd's data survive restarts.
import { spawn, type ChildProcess } from 'node:child_process';
import { closeSync, existsSync, mkdirSync, mkdtempSync, openSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { request } from 'node:https';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { stringify } from 'yaml';
import { ensureClusterTools, type ClusterTools } from '../tools/kubernetes/index.ts';
import { freePort, portOrFree } from '../tools/temporal-dev-server.ts';
import { ensurePki, type Pki } from './pki.ts';
import { auditPolicyRules } from './audit.ts';

export interface LocalClusterOptions {
  /** Keep PKI, etcd data, kubeconfig and logs here (survives restarts); default: a temp dir removed by stop(). */
  dataDir?: string;
  /** Fake (kwok) nodes to create; default 3. */
  nodes?: number;
  /** Port of the API server (default: a free one). */
  apiServerPort?: number;
  /** Resolved binaries (default: ensureClusterTools()). */
  tools?: ClusterTools;
  /** Aborting it while the cluster starts stops what started and rejects. */
  signal?: AbortSignal;
  env?: NodeJS.ProcessEnv;
  /** Called with progress lines (default: silent). */
  log?: (msg: string) => void;
  /**
   * Users whose requests the API server records in its audit log (`auditLogPath`): verb, resource,
   * namespace, name, answer, and the bodies of RBAC bindings only (./audit.ts). Default: no audit log.
   */
  auditUsers?: string[];
}

export interface LocalCluster {
  /** Admin kubeconfig (client certificate in group system:masters). */
  kubeconfigPath: string;
  /** https://127.0.0.1:<port> */
  server: string;
  /** The directory holding pki/, etcd/, logs/ and the kubeconfig. */
  dir: string;
  /** Names of the fake nodes. */
  nodes: string[];
  /** The audit log (JSON lines) when `auditUsers` was given. */
  auditLogPath?: string;
  /** Tails of the component logs, for error messages. */
  logs(): string;
  /** Kills the kube-apiserver (SIGKILL, like a crash; etcd and the rest keep running): outage tests. */
  stopApiServer(): Promise<void>;
  /** Starts it again with the same flags, port and etcd; resolves once /readyz answers. */
  startApiServer(): Promise<void>;
  stop(): Promise<void>;
}

/** The Service IP range; its first address is the `kubernetes` Service. */
export const SERVICE_CIDR = '10.96.0.0/16';
const SERVICE_IP = '10.96.0.1';
/** Pod IPs kwok hands out, and the fake nodes' InternalIP. */
const POD_CIDR = '10.244.0.1/16';
const NODE_IP = '10.0.0.1';
export const SERVICE_ACCOUNT_ISSUER = 'https://kubernetes.default.svc.cluster.local';
export const KWOK_NODE_ANNOTATION = 'kwok.x-k8s.io/node';

interface Proc {
  name: string;
  child: ChildProcess;
  logFile: string;
  exited: Promise<void>;
}

function tail(file: string, chars = 3000): string {
  try {
    return readFileSync(file, 'utf8').slice(-chars);
  } catch {
    return '';
  }
}

async function stopProc(p: Proc, graceMs = 10_000): Promise<void> {
  if (p.child.exitCode !== null || p.child.signalCode !== null) return;
  const kill = (sig: NodeJS.Signals) => {
    try {
      process.kill(-p.child.pid!, sig);
    } catch {
      /* already gone */
    }
  };
  kill(graceMs > 0 ? 'SIGTERM' : 'SIGKILL');
  const timer = setTimeout(() => kill('SIGKILL'), graceMs);
  await p.exited;
  clearTimeout(timer);
}

/** Admin HTTPS request to the API server; resolves to status and body. */
function adminRequest(
  pki: Pki,
  server: string,
  method: string,
  path: string,
  body?: unknown,
): Promise<{ status: number; body: string }> {
  return new Promise((resolvePromise, reject) => {
    const url = new URL(path, server);
    const req = request(
      url,
      {
        method,
        ca: readFileSync(pki.caCert),
        cert: readFileSync(pki.adminCert),
        key: readFileSync(pki.adminKey),
        headers: body === undefined ? {} : { 'content-type': 'application/json' },
        timeout: 5000,
      },
      (res) => {
        let text = '';
        res.setEncoding('utf8');
        res.on('data', (d: string) => (text += d));
        res.on('end', () => resolvePromise({ status: res.statusCode ?? 0, body: text }));
        res.on('error', reject);
      },
    );
    req.on('timeout', () => req.destroy(new Error(`${method} ${path}: timed out`)));
    req.on('error', reject);
    req.end(body === undefined ? undefined : JSON.stringify(body));
  });
}

export function kubeconfigYaml(pki: Pki, server: string): string {
  const b64 = (f: string) => readFileSync(f).toString('base64');
  return stringify({
    apiVersion: 'v1',
    kind: 'Config',
    clusters: [{ name: 'cedille-local', cluster: { server, 'certificate-authority-data': b64(pki.caCert) } }],
    users: [{ name: 'cedille-admin', user: { 'client-certificate-data': b64(pki.adminCert), 'client-key-data': b64(pki.adminKey) } }],
    contexts: [{ name: 'cedille-local', context: { cluster: 'cedille-local', user: 'cedille-admin' } }],
    'current-context': 'cedille-local',
  });
}

/** A node kwok manages (annotation), schedulable, with room for many pods. */
export function fakeNode(name: string): object {
  const resources = { cpu: '32', memory: '256Gi', pods: '1000', 'ephemeral-storage': '1Ti' };
  return {
    apiVersion: 'v1',
    kind: 'Node',
    metadata: {
      name,
      annotations: { [KWOK_NODE_ANNOTATION]: 'fake', 'node.alpha.kubernetes.io/ttl': '0' },
      labels: {
        'kubernetes.io/hostname': name,
        'kubernetes.io/os': 'linux',
        'kubernetes.io/arch': 'amd64',
        'node-role.kubernetes.io/agent': '',
        type: 'kwok',
      },
    },
    spec: {},
    status: { allocatable: resources, capacity: resources, nodeInfo: { architecture: 'amd64', operatingSystem: 'linux', kubeletVersion: 'fake' } },
  };
}

export async function startLocalCluster(opts: LocalClusterOptions = {}): Promise<LocalCluster> {
  const env = opts.env ?? process.env;
  const log = opts.log ?? (() => undefined);
  const nodeCount = opts.nodes ?? 3;
  const tools = opts.tools ?? (await ensureClusterTools(env));
  const temporary = !opts.dataDir;
  const dir = opts.dataDir ? resolve(opts.dataDir) : mkdtempSync(join(tmpdir(), 'cedille-cluster-'));
  const logsDir = join(dir, 'logs');
  mkdirSync(logsDir, { recursive: true });
  const procs: Proc[] = [];

  const stop = async () => {
    // Clients of the API server first (in parallel), then the API server, then etcd.
    const order = (p: Proc) => (p.name === 'etcd' ? 2 : p.name === 'kube-apiserver' ? 1 : 0);
    for (const rank of [0, 1, 2]) await Promise.all(procs.filter((p) => order(p) === rank).map((p) => stopProc(p)));
    procs.length = 0;
    if (temporary) rmSync(dir, { recursive: true, force: true });
  };
  const logs = () => procs.map((p) => `--- ${p.name} (${p.logFile})\n${tail(p.logFile)}`).join('\n');

  const launch = (name: string, bin: string, args: string[]) => {
    const logFile = join(logsDir, `${name}.log`);
    const fd = openSync(logFile, 'a');
    const child = spawn(bin, args, { stdio: ['ignore', fd, fd], detached: true, cwd: dir });
    closeSync(fd);
    const exited = new Promise<void>((r) => child.once('exit', () => r()));
    child.once('error', () => undefined); // reported through exitCode / the wait loops
    const p = { name, child, logFile, exited };
    procs.push(p);
    return p;
  };

  /** Polls `check` until it returns true; fails fast if one of the processes died. */
  const waitFor = async (what: string, check: () => Promise<boolean>, timeoutMs = 90_000) => {
    const deadline = Date.now() + timeoutMs;
    let last: unknown;
    for (;;) {
      opts.signal?.throwIfAborted();
      const dead = procs.find((p) => p.child.exitCode !== null || p.child.signalCode !== null);
      if (dead) throw new Error(`${dead.name} exited (${dead.child.exitCode ?? dead.child.signalCode}) while waiting for ${what}:\n${tail(dead.logFile)}`);
      try {
        if (await check()) return;
      } catch (err) {
        last = err;
      }
      if (Date.now() > deadline) throw new Error(`${what}: not ready after ${timeoutMs / 1000} s (${(last as Error)?.message ?? 'no answer'})\n${logs()}`);
      await new Promise((r) => setTimeout(r, 200));
    }
  };

  try {
    const pki = await ensurePki(join(dir, 'pki'), { serviceIp: SERVICE_IP, env });

    // etcd: a single member on loopback.
    // A kept cluster reuses its etcd ports when they are free (the member's peer URL is in its data).
    const portsFile = join(dir, 'ports.json');
    const saved = (!temporary && existsSync(portsFile) ? JSON.parse(readFileSync(portsFile, 'utf8')) : {}) as Record<string, number>;
    const etcdClient = saved.etcdClient ? await portOrFree(saved.etcdClient) : await freePort();
    const etcdPeer = saved.etcdPeer ? await portOrFree(saved.etcdPeer) : await freePort();
    if (!temporary) writeFileSync(portsFile, JSON.stringify({ etcdClient, etcdPeer }) + '\n');
    const etcdUrl = `http://127.0.0.1:${etcdClient}`;
    log(`etcd on ${etcdUrl}`);
    launch('etcd', tools.etcd, [
      '--name=cedille',
      `--data-dir=${join(dir, 'etcd')}`,
      `--listen-client-urls=${etcdUrl}`,
      `--advertise-client-urls=${etcdUrl}`,
      `--listen-peer-urls=http://127.0.0.1:${etcdPeer}`,
      `--initial-advertise-peer-urls=http://127.0.0.1:${etcdPeer}`,
      `--initial-cluster=cedille=http://127.0.0.1:${etcdPeer}`,
      '--listen-metrics-urls=',
      '--log-level=warn',
      // A throwaway test cluster trades durability for speed; a kept one (npm start) syncs.
      ...(temporary ? ['--unsafe-no-fsync=true'] : []),
    ]);

    // kube-apiserver.
    const port = opts.apiServerPort ?? (await freePort());
    const server = `https://127.0.0.1:${port}`;
    log(`kube-apiserver on ${server}`);
    const apiServerArgs = [
      `--etcd-servers=${etcdUrl}`,
      `--cert-dir=${join(dir, 'pki', 'apiserver-generated')}`,
      `--secure-port=${port}`,
      '--bind-address=127.0.0.1',
      '--advertise-address=127.0.0.1',
      // The `kubernetes` Endpoints would point at loopback, which Endpoints reject.
      '--endpoint-reconciler-type=none',
      `--service-cluster-ip-range=${SERVICE_CIDR}`,
      '--allow-privileged=true',
      '--authorization-mode=RBAC',
      '--disable-admission-plugins=ServiceAccount',
      `--client-ca-file=${pki.caCert}`,
      `--tls-cert-file=${pki.serverCert}`,
      `--tls-private-key-file=${pki.serverKey}`,
      `--service-account-issuer=${SERVICE_ACCOUNT_ISSUER}`,
      `--service-account-key-file=${pki.saPub}`,
      `--service-account-signing-key-file=${pki.saKey}`,
      '--profiling=false',
      ...auditArgs(opts.auditUsers, dir),
    ];
    const startApiServer = async () => {
      launch('kube-apiserver', tools['kube-apiserver'], apiServerArgs);
      await waitFor('kube-apiserver /readyz', async () => (await adminRequest(pki, server, 'GET', '/readyz')).status === 200, 120_000);
    };
    const stopApiServer = async () => {
      for (const p of procs.filter((q) => q.name === 'kube-apiserver')) {
        await stopProc(p, 0);
        procs.splice(procs.indexOf(p), 1);
      }
    };
    await startApiServer();

    const kubeconfigPath = join(dir, 'kubeconfig');
    writeFileSync(kubeconfigPath, kubeconfigYaml(pki, server), { mode: 0o600 });

    // Controllers and scheduler, as the admin (system:masters); their own serving on free ports.
    const kcmPort = await freePort();
    launch('kube-controller-manager', tools['kube-controller-manager'], [
      `--kubeconfig=${kubeconfigPath}`,
      `--authentication-kubeconfig=${kubeconfigPath}`,
      `--authorization-kubeconfig=${kubeconfigPath}`,
      '--leader-elect=false',
      '--bind-address=127.0.0.1',
      `--secure-port=${kcmPort}`,
      `--cert-dir=${join(dir, 'pki', 'kcm-generated')}`,
      `--service-account-private-key-file=${pki.saKey}`,
      `--root-ca-file=${pki.caCert}`,
      `--cluster-signing-cert-file=${pki.caCert}`,
      `--cluster-signing-key-file=${pki.caKey}`,
      `--service-cluster-ip-range=${SERVICE_CIDR}`,
      '--use-service-account-credentials=false',
      '--profiling=false',
    ]);
    const schedulerPort = await freePort();
    launch('kube-scheduler', tools['kube-scheduler'], [
      `--kubeconfig=${kubeconfigPath}`,
      `--authentication-kubeconfig=${kubeconfigPath}`,
      `--authorization-kubeconfig=${kubeconfigPath}`,
      '--leader-elect=false',
      '--bind-address=127.0.0.1',
      `--secure-port=${schedulerPort}`,
      '--profiling=false',
    ]);

    // kwok plays the kubelet of the nodes annotated kwok.x-k8s.io/node=fake, with the stages of kwok-stages.yaml.
    const kwokConfig = fileURLToPath(new URL('kwok-stages.yaml', import.meta.url));
    const kwokPort = await freePort();
    launch('kwok', tools.kwok, [
      `--kubeconfig=${kubeconfigPath}`,
      `--config=${kwokConfig}`,
      '--manage-all-nodes=false',
      `--manage-nodes-with-annotation-selector=${KWOK_NODE_ANNOTATION}=fake`,
      '--manage-nodes-with-label-selector=',
      '--manage-single-node=',
      '--disregard-status-with-annotation-selector=kwok.x-k8s.io/status=custom',
      '--disregard-status-with-label-selector=',
      `--cidr=${POD_CIDR}`,
      `--node-ip=${NODE_IP}`,
      '--node-lease-duration-seconds=40',
      `--server-address=127.0.0.1:${kwokPort}`,
    ]);

    const nodes = Array.from({ length: nodeCount }, (_, i) => `kwok-node-${i}`);
    for (const name of nodes) {
      const res = await adminRequest(pki, server, 'POST', '/api/v1/nodes', fakeNode(name));
      if (res.status !== 201 && res.status !== 409) throw new Error(`creating node ${name}: ${res.status} ${res.body}`);
    }
    log(`waiting for ${nodeCount} kwok nodes to be Ready`);
    await waitFor('kwok nodes Ready', async () => {
      const res = await adminRequest(pki, server, 'GET', '/api/v1/nodes');
      const list = JSON.parse(res.body) as { items?: Array<{ metadata: { name: string }; status?: { conditions?: Array<{ type: string; status: string }> } }> };
      const ready = new Set(
        (list.items ?? []).filter((n) => n.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True')).map((n) => n.metadata.name),
      );
      return nodes.every((n) => ready.has(n));
    });
    // The controllers must be serving before a Deployment can turn into Pods.
    for (const [name, p] of [['kube-controller-manager', kcmPort], ['kube-scheduler', schedulerPort]] as const) {
      await waitFor(`${name} /healthz`, () => healthz(p));
    }
    // kube-controller-manager creates each namespace's `default` ServiceAccount; wait for the first one.
    await waitFor('the default ServiceAccount', async () => (await adminRequest(pki, server, 'GET', '/api/v1/namespaces/default/serviceaccounts/default')).status === 200);
    const auditLogPath = opts.auditUsers ? auditLogOf(dir) : undefined;
    return { kubeconfigPath, server, dir, nodes, logs, stopApiServer, startApiServer, stop, ...(auditLogPath ? { auditLogPath } : {}) };
  } catch (err) {
    await stop();
    throw err;
  }
}

const auditLogOf = (dir: string) => join(dir, 'logs', 'audit.log');

/** kube-apiserver flags of an audit log of `users`' requests (written before each answer: complete when a test ends). */
function auditArgs(users: string[] | undefined, dir: string): string[] {
  if (!users) return [];
  const policyFile = join(dir, 'audit-policy.yaml');
  const policy = {
    apiVersion: 'audit.k8s.io/v1',
    kind: 'Policy',
    omitStages: ['RequestReceived'],
    rules: auditPolicyRules(users),
  };
  writeFileSync(policyFile, stringify(policy));
  return [`--audit-policy-file=${policyFile}`, `--audit-log-path=${auditLogOf(dir)}`, '--audit-log-format=json', '--audit-log-mode=blocking', '--audit-log-maxsize=0'];
}

/** GET https://127.0.0.1:<port>/healthz of a component serving a self-signed certificate. */
function healthz(port: number): Promise<boolean> {
  return new Promise((resolvePromise) => {
    const req = request({ host: '127.0.0.1', port, path: '/healthz', rejectUnauthorized: false, timeout: 2000 }, (res) => {
      res.resume();
      resolvePromise(res.statusCode === 200);
    });
    req.on('timeout', () => req.destroy());
    req.on('error', () => resolvePromise(false));
    req.end();
  });
}
