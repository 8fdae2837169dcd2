// simulated Vault deployment: plays ArgoCD + the Helm chart for the bootstrap tests, which have no
// controller or kubelet to run the chart. Once the workflow has committed the values to the GitOps
// remote and stored the TLS Secret, it starts a real non-dev OpenBao (test/support/openbao-server.ts)
// on the address the run was given, serving that certificate: what the chart would mount.
import type { TestRemote } from '../support/git.ts';
import { startOpenBaoServer, type OpenBaoServer } from '../support/openbao-server.ts';
import { adminKube } from '../support/cluster.ts';

export interface SimulatedVaultDeployment {
  /** Resolves once OpenBao serves. */
  server: Promise<OpenBaoServer>;
  /** What it is doing, and OpenBao's output once started. */
  output(): string;
  stop(): Promise<void>;
}

export function simulatedVaultDeployment(opts: { namespace: string; tlsSecret: string; remote: TestRemote; valuesPath: string; port: number }): SimulatedVaultDeployment {
  let stopped = false;
  let started: OpenBaoServer | undefined;
  let phase = 'waiting for the values in git and the TLS Secret';
  const server = (async () => {
    for (;;) {
      if (stopped) throw new Error('simulated deployment stopped before OpenBao started');
      const values = await opts.remote.readFile(opts.valuesPath);
      const secret = values ? await adminKube().get({ apiVersion: 'v1', kind: 'Secret', namespace: opts.namespace, name: opts.tlsSecret }).catch(() => undefined) : undefined;
      const data = secret?.data as Record<string, string> | undefined;
      if (data?.['tls.crt'] && data['tls.key'] && data['ca.crt']) {
        const pem = (k: string) => Buffer.from(data[k]!, 'base64').toString('utf8');
        phase = 'starting OpenBao';
        started = await startOpenBaoServer({ port: opts.port, tls: { certPem: pem('tls.crt'), keyPem: pem('tls.key'), caPem: pem('ca.crt') } });
        return started;
      }
      await new Promise((r) => setTimeout(r, 200));
    }
  })();
  server.catch((err: Error) => {
    phase = `failed: ${err.message}`;
  });
  return {
    server,
    output: () => (started ? `OpenBao at ${started.address}:\n${started.output()}` : phase),
    async stop() {
      stopped = true;
      await server.catch(() => undefined);
      await started?.stop();
    },
  };
}
