// fake-gcs-server (the GCS of tests and benchmarks): $FAKE_GCS_SERVER_PATH, or the pinned
// `go install github.com/fsouza/fake-gcs-server` under the tools cache, built on first use.
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { goInstall } from './go-build.ts';
import { startLocalProcess } from './local-process.ts';
import { toolsDir } from './paths.ts';
import { freePort } from './temporal-dev-server.ts';
import { TOOL_VERSIONS } from './versions.ts';

export function ensureFakeGcsServer(env = process.env): Promise<string> {
  const explicit = env.FAKE_GCS_SERVER_PATH;
  if (explicit) {
    if (!existsSync(explicit)) return Promise.reject(new Error(`FAKE_GCS_SERVER_PATH=${explicit} does not exist`));
    return Promise.resolve(explicit);
  }
  const version = TOOL_VERSIONS.fakeGcsServer;
  const dir = join(toolsDir(env), `fake-gcs-server-${version}`);
  return goInstall(dir, 'fake-gcs-server', 'github.com/fsouza/fake-gcs-server', version, env);
}

export interface FakeGcs {
  /** e.g. http://127.0.0.1:4443 — the GCS client's `apiEndpoint`. */
  url: string;
  stop(): Promise<void>;
}

/** Starts fake-gcs-server on loopback (plain HTTP, filesystem backend under `dataDir`). */
export async function startFakeGcs(opts: { dataDir: string; port?: number }): Promise<FakeGcs> {
  const bin = await ensureFakeGcsServer();
  const port = opts.port ?? (await freePort());
  const url = `http://127.0.0.1:${port}`;
  const server = await startLocalProcess({
    name: 'fake-gcs-server',
    cmd: bin,
    args: ['-scheme', 'http', '-host', '127.0.0.1', '-port', String(port), '-backend', 'filesystem',
      '-filesystem-root', opts.dataDir, '-public-host', `127.0.0.1:${port}`, '-external-url', url, '-log-level', 'warn'],
    ready: async () => (await fetch(`${url}/storage/v1/b?project=test`)).ok,
  });
  return { url, stop: server.stop };
}
