// A pass-through HTTP proxy that records the method and path of every request: stands for a
// destination the worker's configuration names (a Vault or GCS address the agent Jobs must use), so a
// test sees which requests went there. Redirect and resumable-upload `Location`s are rewritten to it.
import { createServer, request as httpRequest } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface RecordingProxy {
  url: string;
  /** `METHOD /path?query` of each request, in arrival order. */
  seen: string[];
  close(): Promise<void>;
}

export async function recordingProxy(target: string): Promise<RecordingProxy> {
  const upstream = new URL(target);
  const seen: string[] = [];
  let url = '';
  const server = createServer((req, res) => {
    seen.push(`${req.method} ${req.url}`);
    const out = httpRequest({ host: upstream.hostname, port: upstream.port, method: req.method, path: req.url, headers: { ...req.headers, host: upstream.host } }, (up) => {
      const headers = { ...up.headers };
      if (typeof headers.location === 'string') headers.location = headers.location.replace(upstream.origin, url);
      res.writeHead(up.statusCode ?? 502, headers);
      up.pipe(res);
    });
    out.on('error', () => res.destroy());
    req.pipe(out);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return {
    url,
    seen,
    close: () => new Promise<void>((resolve) => {
      server.closeAllConnections();
      server.close(() => resolve());
    }),
  };
}
