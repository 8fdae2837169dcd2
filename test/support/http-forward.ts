// Forwards one request to `upstream` and its answer back, rewriting a `Location` on the upstream's origin
// to `origin` (redirects and resumable-upload sessions then come back through the caller's proxy).
import { request as httpRequest, type IncomingMessage, type ServerResponse } from 'node:http';

export function forward(req: IncomingMessage, res: ServerResponse, upstream: URL, origin: string): void {
  const out = httpRequest({ host: upstream.hostname, port: upstream.port, method: req.method, path: req.url, headers: { ...req.headers, host: upstream.host } }, (up) => {
    const headers = { ...up.headers };
    if (typeof headers.location === 'string') headers.location = headers.location.replace(upstream.origin, origin);
    res.writeHead(up.statusCode ?? 502, headers);
    up.pipe(res);
  });
  out.on('error', () => res.destroy());
  req.pipe(out);
}
