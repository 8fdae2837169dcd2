// Helpers of the kubernetes.* activity tests against the local cluster test/run.ts starts.
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { connect, createServer, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parse as parseYaml, stringify as stringifyYaml } from 'yaml';
import { KubeConfig } from '@kubernetes/client-node';
import { KubeClient } from '../../activities/kubernetes/_client.ts';
import { testKubeconfigPath } from '../support/cluster.ts';
import { activityFailure, callActivity, testContext } from '../activities/_support.ts';

export { activityFailure };
import type { ActivityContext } from '../../activities/define.ts';

export { callActivity, testContext };

/** An admin client of our own (the activities' client class, on the test cluster's kubeconfig). */
export function adminClient(): KubeClient {
  const kc = new KubeConfig();
  kc.loadFromFile(testKubeconfigPath());
  return new KubeClient(kc);
}

/** A context recording heartbeats, with heartbeat details of an earlier attempt. */
export function recordingContext(heartbeatDetails?: unknown, signal?: AbortSignal): ActivityContext & { beats: unknown[] } {
  const beats: unknown[] = [];
  return { ...testContext(signal), heartbeat: (d) => void beats.push(d), heartbeatDetails, beats };
}

/** Writes a copy of the test kubeconfig with `change` applied (server, user) and returns its path. */
export function writeKubeconfig(name: string, change: (config: KubeconfigDoc) => void): string {
  const doc = parseYaml(readFileSync(testKubeconfigPath(), 'utf8')) as KubeconfigDoc;
  change(doc);
  const dir = mkdtempSync(join(process.env.CEDILLE_TEST_SCRATCH ?? tmpdir(), 'kubeconfig-'));
  const path = join(dir, `${name}.yaml`);
  writeFileSync(path, stringifyYaml(doc));
  return path;
}

export interface KubeconfigDoc {
  clusters: { name: string; cluster: { server: string; [k: string]: unknown } }[];
  users: { name: string; user: Record<string, unknown> }[];
  [k: string]: unknown;
}

/**
 * A TCP proxy on loopback in front of the API server (TLS passes through): `drop()` closes every
 * connection (as a restarting load balancer would), `block(true)` refuses new ones.
 */
export async function tcpProxy(target: URL): Promise<{ url: string; connections: () => number; drop(): void; block(on: boolean): void; close(): Promise<void> }> {
  const sockets = new Set<Socket>();
  let count = 0;
  let blocked = false;
  const server = createServer((client) => {
    if (blocked) return void client.destroy();
    count++;
    const upstream = connect(Number(target.port), target.hostname);
    for (const s of [client, upstream]) {
      sockets.add(s);
      s.on('close', () => sockets.delete(s));
      s.on('error', () => undefined);
    }
    client.pipe(upstream).pipe(client);
    const destroyBoth = () => {
      client.destroy();
      upstream.destroy();
    };
    client.on('close', destroyBoth);
    upstream.on('close', destroyBoth);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as { port: number }).port;
  return {
    url: `https://127.0.0.1:${port}`,
    connections: () => count,
    drop: () => {
      for (const s of sockets) s.destroy();
    },
    block: (on) => {
      blocked = on;
    },
    close: () =>
      new Promise<void>((resolve) => {
        for (const s of sockets) s.destroy();
        server.close(() => resolve());
      }),
  };
}
