// API_TRUST_PROXY: which reverse proxies (an Ingress, a load balancer) the API believes about the
// client address (X-Forwarded-For) and scheme. Rate limits of anonymous callers are per address:
// without it, behind a proxy every caller is the proxy. Forms:
//   - unset, empty or 0: no proxy, the TCP peer is the client (the default);
//   - a hop count, e.g. 1: trust that many proxies in front of the API (the last N addresses);
//   - addresses and CIDRs, comma-separated (e.g. 10.42.0.0/16,127.0.0.1), or the names loopback,
//     linklocal, uniquelocal: trust X-Forwarded-For only when the peer is one of them.
// `true` (believe any X-Forwarded-For) is refused: any caller could then pick their address.
import { isIP } from 'node:net';

export type TrustProxy = false | number | string[];

const NAMED = new Set(['loopback', 'linklocal', 'uniquelocal']);

function validEntry(entry: string): boolean {
  if (NAMED.has(entry)) return true;
  const [addr, bits, ...rest] = entry.split('/');
  const family = isIP(addr ?? '');
  if (!family || rest.length) return false;
  if (bits === undefined) return true;
  if (!/^\d{1,3}$/.test(bits)) return false;
  return Number(bits) <= (family === 4 ? 32 : 128);
}

export function trustProxyFromEnv(value: string | undefined): TrustProxy {
  const spec = value?.trim() ?? '';
  if (!spec || spec === '0' || /^false$/i.test(spec)) return false;
  if (/^\d+$/.test(spec)) {
    const hops = Number(spec);
    if (hops > 10) throw new Error(`API_TRUST_PROXY=${spec}: a hop count of at most 10 proxies is expected`);
    return hops;
  }
  if (/^true$/i.test(spec)) {
    throw new Error('API_TRUST_PROXY=true would let any caller choose its address with X-Forwarded-For: give the hop count (e.g. 1) or the proxies\' addresses/CIDRs');
  }
  const entries = spec.split(',').map((e) => e.trim()).filter(Boolean);
  const bad = entries.filter((e) => !validEntry(e));
  if (bad.length) throw new Error(`API_TRUST_PROXY: ${bad.join(', ')} is not a hop count, an IP address, a CIDR or one of loopback, linklocal, uniquelocal`);
  return entries;
}

/** Fastify's `trustProxy` option for it (a hop count as proxy-addr's "trust the first N hops" function). */
export function fastifyTrustProxy(tp: TrustProxy): boolean | string[] | ((addr: string, hop: number) => boolean) {
  return typeof tp === 'number' ? (_addr, hop) => hop < tp : tp;
}
