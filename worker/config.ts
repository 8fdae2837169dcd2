import { WORKSPACE_EGRESS_DEFAULT_EXCEPT } from '../activities/kubernetes/builders/manifests.ts';

/** The task queue the interpreter and the catalog activities are served on. */
export const TASK_QUEUE = process.env.CEDILLE_TASK_QUEUE ?? 'cedille-workflows';

const IPV4_CIDR = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})\/(\d{1,2})$/;

/** Why `cidr` is not a canonical IPv4 CIDR with a prefix of 1 to 32 bits, or undefined when it is. */
function ipv4CidrProblem(cidr: string): string | undefined {
  const m = IPV4_CIDR.exec(cidr);
  if (!m) return 'is not an IPv4 CIDR such as 10.0.0.0/8';
  const octets = m.slice(1, 5).map(Number);
  const prefix = Number(m[5]);
  if (octets.some((o) => o > 255)) return 'has an octet above 255';
  if (prefix < 1 || prefix > 32) return 'needs a prefix length of 1 to 32';
  const address = octets.reduce((a, o) => a * 256 + o, 0);
  if (address % 2 ** (32 - prefix) !== 0) return `has host bits set (the network is ${cidrNetwork(address, prefix)})`;
  return undefined;
}

function cidrNetwork(address: number, prefix: number): string {
  const network = address - (address % 2 ** (32 - prefix));
  return `${[24, 16, 8, 0].map((s) => Math.floor(network / 2 ** s) % 256).join('.')}/${prefix}`;
}

/**
 * CEDILLE_WORKSPACE_EGRESS_EXCEPT: the comma-separated IPv4 CIDRs a student workspace may not reach
 * (the cluster's pod and service ranges, its node addresses, any internal network). Worker
 * configuration, never run input; the link-local range (cloud metadata) is always added by the
 * builder. Default: the RFC 1918 ranges. Throws naming the variable and the bad entry.
 */
export function workspaceEgressExcept(env: NodeJS.ProcessEnv = process.env): string[] {
  const raw = env.CEDILLE_WORKSPACE_EGRESS_EXCEPT?.trim();
  if (!raw) return [...WORKSPACE_EGRESS_DEFAULT_EXCEPT];
  const cidrs = raw.split(',').map((c) => c.trim()).filter(Boolean);
  for (const cidr of cidrs) {
    const problem = ipv4CidrProblem(cidr);
    if (problem) throw new Error(`CEDILLE_WORKSPACE_EGRESS_EXCEPT: ${JSON.stringify(cidr)} ${problem}`);
  }
  return [...new Set(cidrs)];
}

/**
 * CEDILLE_WORKER_HEALTH_PORT (and CEDILLE_WORKER_HEALTH_HOST, default 0.0.0.0): where the worker
 * serves /healthz, /readyz and /metrics (worker/health-server.ts); unset: nowhere. 0 picks a free port.
 */
export function workerHealthListen(env = process.env): { host: string; port: number } | undefined {
  const raw = env.CEDILLE_WORKER_HEALTH_PORT?.trim();
  if (!raw) return undefined;
  const port = Number(raw);
  if (!/^\d+$/.test(raw) || port > 65535) throw new Error(`CEDILLE_WORKER_HEALTH_PORT=${raw} is not a TCP port`);
  return { host: env.CEDILLE_WORKER_HEALTH_HOST?.trim() || '0.0.0.0', port };
}
