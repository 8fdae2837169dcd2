// A pass-through HTTP proxy that records the method and path of every request, and its Authorization
// header: stands for a destination the worker's configuration names (a Vault or GCS address the agent Jobs
// must use), so a test sees which requests went there. Redirect and resumable-upload `Location`s are
// rewritten to it, or to `locationOrigin` (a server sending its clients to another host).
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { forward } from '../support/http-forward.ts';

export interface RecordingProxy {
  url: string;
  /** `METHOD /path?query` of each request, in arrival order. */
  seen: string[];
  /** The Authorization header of each request (same order), if any. */
  authorization: (string | undefined)[];
  close(): Promise<void>;
}

export async function recordingProxy(target: string, opts: { locationOrigin?: string } = {}): Promise<RecordingProxy> {
  const upstream = new URL(target);
  const seen: string[] = [];
  const authorization: (string | undefined)[] = [];
  let url = '';
  const server = createServer((req, res) => {
    seen.push(`${req.method} ${req.url}`);
    authorization.push(req.headers.authorization);
    forward(req, res, upstream, opts.locationOrigin ?? url);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return {
    url,
    seen,
    authorization,
    close: () => new Promise<void>((resolve) => {
      server.closeAllConnections();
      server.close(() => resolve());
    }),
  };
}
