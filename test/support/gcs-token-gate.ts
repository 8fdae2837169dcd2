// fake-gcs-server ignores Authorization; this proxy in front of it does what GCS does with it: a request
// without a Bearer token the IAM credentials peer minted (and not expired) is answered 401 and never
// reaches the server. It records whose token each request carried. Resumable-upload `Location`s are
// rewritten to the gate, so session requests come through it too.
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { forward } from './http-forward.ts';

export interface GcsTokenGate {
  url: string;
  /** Every request: `METHOD /path`, and the service account whose token it carried (undefined: refused). */
  seen: { request: string; owner: string | undefined }[];
  close(): Promise<void>;
}

export async function gcsTokenGate(target: string, ownerOf: (token: string) => string | undefined): Promise<GcsTokenGate> {
  const upstream = new URL(target);
  const seen: GcsTokenGate['seen'] = [];
  let url = '';
  const server = createServer((req, res) => {
    const token = /^Bearer (.+)$/.exec(req.headers.authorization ?? '')?.[1];
    const owner = token ? ownerOf(token) : undefined;
    seen.push({ request: `${req.method} ${req.url}`, owner });
    if (!owner) {
      req.resume();
      res.writeHead(401, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ error: { code: 401, message: 'Anonymous caller does not have storage.objects.get access.', errors: [{ reason: 'required' }] } }));
      return;
    }
    forward(req, res, upstream, url);
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
