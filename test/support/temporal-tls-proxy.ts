// A TLS front for the Temporal dev server, which cannot serve TLS itself (`temporal server start-dev`
// has no TLS flags): an HTTP/2 server on loopback that terminates TLS, requires a client certificate
// signed by `ca` (mTLS, as a production frontend with `requireClientAuth` does) and forwards every
// gRPC call, headers, body and trailers, to the real dev server over plaintext HTTP/2. It records
// the `authorization` header of each call so tests can check a bearer token was sent.
import { connect, constants, createSecureServer, type ClientHttp2Session, type IncomingHttpHeaders, type OutgoingHttpHeaders } from 'node:http2';
import type { AddressInfo } from 'node:net';

export interface TemporalTlsProxy {
  /** host:port of the TLS endpoint (127.0.0.1). */
  address: string;
  /** The `authorization` header of every call forwarded so far, in order (undefined when absent). */
  authorizations: (string | undefined)[];
  /** TLS handshakes refused (no client certificate, or one of another CA). */
  refusedHandshakes: () => number;
  close(): Promise<void>;
}

const HOP_BY_HOP = new Set([constants.HTTP2_HEADER_CONNECTION, 'keep-alive', 'proxy-connection', 'transfer-encoding', 'upgrade']);

function forwardable(headers: IncomingHttpHeaders): OutgoingHttpHeaders {
  const out: OutgoingHttpHeaders = {};
  for (const [name, value] of Object.entries(headers)) {
    if (value !== undefined && !HOP_BY_HOP.has(name) && !(name.startsWith(':') && name !== ':method' && name !== ':path' && name !== ':status')) out[name] = value;
  }
  return out;
}

export async function startTemporalTlsProxy(opts: { upstream: string; cert: Buffer; key: Buffer; ca: Buffer }): Promise<TemporalTlsProxy> {
  let upstream: ClientHttp2Session | undefined;
  const session = () => {
    if (!upstream || upstream.closed || upstream.destroyed) {
      upstream = connect(`http://${opts.upstream}`);
      upstream.on('error', () => undefined); // each stream reports its own failure
    }
    return upstream;
  };
  const authorizations: (string | undefined)[] = [];
  let refused = 0;
  const server = createSecureServer({ cert: opts.cert, key: opts.key, ca: opts.ca, requestCert: true, rejectUnauthorized: true, allowHTTP1: false });
  server.on('tlsClientError', () => void refused++);
  server.on('stream', (stream, headers) => {
    authorizations.push(headers.authorization);
    const call = session().request(forwardable(headers));
    stream.on('close', () => {
      if (!call.closed) call.close(constants.NGHTTP2_CANCEL);
    });
    call.on('error', () => {
      if (!stream.closed) stream.close(constants.NGHTTP2_INTERNAL_ERROR);
    });
    stream.pipe(call);
    let trailers: OutgoingHttpHeaders = {};
    call.on('trailers', (t) => void (trailers = forwardable(t)));
    call.on('response', (response) => {
      // A trailers-only answer (an error before any message) carries grpc-status in its headers.
      if (response['grpc-status'] !== undefined) return void stream.respond(forwardable(response), { endStream: true });
      stream.respond(forwardable(response), { waitForTrailers: true });
      stream.on('wantTrailers', () => stream.sendTrailers(trailers));
      call.pipe(stream);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const sessions = new Set<{ destroy(): void }>();
  server.on('session', (s) => {
    sessions.add(s);
    s.on('close', () => sessions.delete(s));
  });
  return {
    address: `127.0.0.1:${(server.address() as AddressInfo).port}`,
    authorizations,
    refusedHandshakes: () => refused,
    async close() {
      for (const s of sessions) s.destroy();
      upstream?.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
