// simulated-gcs-outage: an HTTP proxy in front of fake-gcs-server that can drop every connection for a
// while (a GCS outage as the agent sees it) and counts the upload bytes it forwards.
//
// It also answers one request itself, the resumable-upload status query (`PUT <session>` with
// `Content-Range: bytes */*` and no body), as GCS documents it: 308 with `Range: bytes=0-<last byte
// persisted>` (none when nothing is). fake-gcs-server 1.56 treats that query as the end of a streaming upload
// and finalizes the partial object, so an agent following the documented protocol could not be tested
// against it. The proxy knows what the fake persisted from the fake's own 308 answers to the chunks.
import http, { type IncomingMessage, type ServerResponse } from 'node:http';
import type { Socket } from 'node:net';

export class SimulatedGcsOutage {
  private readonly server: http.Server;
  private readonly sockets = new Set<Socket>();
  private readonly persisted = new Map<string, string>();
  private downUntil = 0;
  forwardedBytes = 0;
  statusQueries = 0;
  droppedConnections = 0;
  url = '';

  constructor(private readonly upstream: string) {
    this.server = http.createServer((req, res) => this.handle(req, res));
    this.server.on('connection', (socket: Socket) => {
      if (Date.now() < this.downUntil) {
        this.droppedConnections++;
        socket.destroy();
        return;
      }
      this.sockets.add(socket);
      socket.on('close', () => this.sockets.delete(socket));
    });
  }

  async start(): Promise<this> {
    await new Promise<void>((r) => this.server.listen(0, '127.0.0.1', r));
    const addr = this.server.address() as { port: number };
    this.url = `http://127.0.0.1:${addr.port}`;
    return this;
  }

  /** Drops every open connection now and refuses (resets) new ones for `ms`. */
  down(ms: number): void {
    this.downUntil = Date.now() + ms;
    for (const s of this.sockets) {
      this.droppedConnections++;
      s.destroy();
    }
  }

  private handle(req: IncomingMessage, res: ServerResponse): void {
    const uploadId = new URL(req.url ?? '/', 'http://x').searchParams.get('upload_id');
    if (req.method === 'PUT' && uploadId && req.headers['content-range'] === 'bytes */*') {
      this.statusQueries++;
      req.resume();
      const range = this.persisted.get(uploadId);
      res.writeHead(308, range ? { range, 'content-length': '0' } : { 'content-length': '0' }).end();
      return;
    }
    const target = new URL(req.url ?? '/', this.upstream);
    const up = http.request(target, { method: req.method, headers: req.headers }, (upRes) => {
      if (uploadId && upRes.statusCode === 308 && typeof upRes.headers.range === 'string') this.persisted.set(uploadId, upRes.headers.range);
      res.writeHead(upRes.statusCode ?? 502, upRes.headers);
      upRes.pipe(res);
    });
    up.on('error', () => res.destroy());
    req.on('data', (d: Buffer) => (this.forwardedBytes += d.length));
    // A client connection cut mid-body aborts the upstream request (the server persists nothing of it);
    // one cut after the body was sent does not: the server may have kept the chunk without the client
    // hearing back, which is what the status query is for.
    req.on('aborted', () => up.destroy());
    req.on('error', () => up.destroy());
    req.pipe(up);
  }

  async stop(): Promise<void> {
    for (const s of this.sockets) s.destroy();
    await new Promise<void>((r) => this.server.close(() => r()));
  }
}
