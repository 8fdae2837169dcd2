// The remote codec endpoint of the Temporal Web UI (and `temporal --codec-endpoint`): Temporal's
// protocol, `POST /v1/codec/decode` and `/v1/codec/encode` with `{ payloads: [{ metadata, data }] }`
// (protobuf JSON: base64 bytes) and the namespace in `X-Namespace`, answered with the same shape.
// Access: decode needs `read` (anyone who may read a run through the API already sees its decoded
// input and output there); encode needs `operator` (the UI encodes what it sends: workflow inputs,
// signals). Every call is audited (who, how many payloads, which key ids). Callers authenticate with
// a bearer token, or with the codec session cookie of GET/POST /v1/codec/session for a UI without
// login (../auth/codec-session.ts): these routes do their own authentication, hence `public` for the
// API-wide hook. Browsers: CORS for the origins in CEDILLE_CODEC_CORS_ORIGINS only, with credentials
// and the Authorization and X-Namespace headers allowed.
// With the claim check (CEDILLE_CLAIM_CHECK_URL), decode resolves references to stored payloads first
// and encode stores large ones, as the worker's converter does: the UI shows bulk data too.
// Without codec keys both directions are the identity, as the worker's converter is then.
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import type { Payload } from '@temporalio/common';
import { z } from 'zod';
import { AesGcmCodec, CodecError, isClaimCheck, keyIdOf } from '../../codec/index.ts';
import formbody from '@fastify/formbody';
import { allows, type Access } from '../auth/identity.ts';
import { codecAuthenticator, SESSION_COOKIE, SESSION_TTL_S, signSession } from '../auth/codec-session.ts';
import { caller } from '../auth/plugin.ts';
import { html, type Html } from '../views/html.ts';
import { problem, problemResponses, Problem } from '../problem.ts';
import type { RoutesOptions } from '../services.ts';
import { htmlPage } from '../openapi/responses.ts';

const Base64 = z.string().regex(/^[A-Za-z0-9+/_-]*={0,2}$/, 'base64');

const WirePayload = z
  .object({
    metadata: z.record(z.string(), Base64).optional(),
    data: Base64.optional(),
  })
  .meta({ id: 'CodecPayload' });
type WirePayload = z.infer<typeof WirePayload>;

const Payloads = z.object({ payloads: z.array(WirePayload).max(10_000) }).meta({ id: 'CodecPayloads' });

export const CODEC_ERROR = 'urn:cedille:problem:codec';

function fromWire(p: WirePayload): Payload {
  return {
    metadata: Object.fromEntries(Object.entries(p.metadata ?? {}).map(([k, v]) => [k, Buffer.from(v, 'base64')])),
    data: Buffer.from(p.data ?? '', 'base64'),
  };
}

function toWire(p: Payload): WirePayload {
  return {
    metadata: Object.fromEntries(Object.entries(p.metadata ?? {}).map(([k, v]) => [k, Buffer.from(v ?? []).toString('base64')])),
    data: Buffer.from(p.data ?? []).toString('base64'),
  };
}

const codecRoutes: FastifyPluginAsyncZod<RoutesOptions> = async (app, { services }) => {
  const { config, audit } = services;
  const codec = config.codec ? new AesGcmCodec(config.codec) : undefined;
  const claimCheck = config.codec ? config.claimCheck : undefined;
  const auth = codecAuthenticator(config);
  await app.register(formbody, { bodyLimit: 16 * 1024 });
  const origins = new Set(config.codecCorsOrigins);
  const allowedOrigin = (req: FastifyRequest): string | undefined => {
    const origin = req.headers.origin;
    return origin && origins.has(origin) ? origin : undefined;
  };

  // On every answer of these routes, 401/403 of the auth hook included: a browser shows those to the UI.
  app.addHook('onSend', async (req, reply) => {
    const origin = allowedOrigin(req);
    reply.header('vary', 'Origin');
    if (!origin) return;
    reply.header('access-control-allow-origin', origin);
    reply.header('access-control-allow-credentials', 'true');
  });

  const preflight = async (req: FastifyRequest, reply: FastifyReply) => {
    if (!allowedOrigin(req)) return problem(reply, 403, { detail: `origin ${req.headers.origin ?? '(none)'} may not call the codec endpoint (CEDILLE_CODEC_CORS_ORIGINS)` });
    return reply
      .code(204)
      .header('access-control-allow-methods', 'POST, OPTIONS')
      .header('access-control-allow-headers', 'Authorization, Content-Type, X-Namespace')
      .header('access-control-max-age', '600')
      .send();
  };

  const authenticate = (access: Access) => async (req: FastifyRequest, reply: FastifyReply) => {
    const result = await auth.request(req);
    if ('error' in result) {
      reply.header('www-authenticate', 'Bearer');
      return problem(reply, 401, { detail: result.error });
    }
    req.identity = result.identity;
    if (!allows(result.identity, access)) return problem(reply, 403, { detail: `${result.identity.subject} may not do this (needs ${access})` });
  };

  const transform = (direction: 'decode' | 'encode') => async (req: FastifyRequest<{ Body: z.infer<typeof Payloads> }>, reply: FastifyReply) => {
    const who = caller(req);
    const namespace = req.headers['x-namespace'];
    if (typeof namespace === 'string' && namespace && namespace !== config.temporal.namespace) {
      return problem(reply, 403, { detail: `namespace ${namespace} is not served here (this API serves ${config.temporal.namespace})` });
    }
    const payloads = req.body.payloads.map(fromWire);
    // Encrypted payloads, between the two codecs: what the key ids are read from.
    let encrypted: Payload[];
    let out: Payload[];
    try {
      if (direction === 'decode') {
        encrypted = claimCheck ? await claimCheck.decode(payloads) : payloads;
        out = codec ? await codec.decode(encrypted) : encrypted;
      } else {
        encrypted = codec ? await codec.encode(payloads) : payloads;
        out = claimCheck ? await claimCheck.encode(encrypted) : encrypted;
      }
    } catch (err) {
      if (!(err instanceof CodecError)) throw err;
      return problem(reply, 422, { type: CODEC_ERROR, title: 'Payload cannot be decoded', detail: err.message });
    }
    const keyIds = [...new Set(encrypted.map(keyIdOf).filter((id): id is string => !!id))];
    const claimChecks = (direction === 'decode' ? payloads : out).filter(isClaimCheck).length;
    await audit.record({ actor: who.subject, action: `codec.${direction}`, target: config.temporal.namespace, details: { payloads: payloads.length, keyIds, ...(claimChecks ? { claimChecks } : {}) } });
    return { payloads: out.map(toWire) };
  };

  for (const direction of ['decode', 'encode'] as const) {
    app.options(`/codec/${direction}`, { config: { access: 'public' }, schema: { hide: true } }, preflight);
    app.post(
      `/codec/${direction}`,
      {
        config: { access: 'public', rateLimit: { max: direction === 'decode' ? 50 * config.rateLimit.max : config.rateLimit.max, timeWindow: config.rateLimit.windowMs } },
        onRequest: authenticate(direction === 'decode' ? 'read' : 'operator'),
        schema: {
          tags: ['codec'],
          operationId: direction === 'decode' ? 'decodePayloads' : 'encodePayloads',
          summary: direction === 'decode' ? 'Decrypt payloads (Temporal remote codec protocol; needs read)' : 'Encrypt payloads (Temporal remote codec protocol; needs operator)',
          security: [{ bearer: [] }, { codecSession: [] }],
          headers: z.object({ 'x-namespace': z.string().optional() }).loose(),
          body: Payloads,
          response: { ...problemResponses, 200: Payloads, 422: Problem },
        },
      },
      transform(direction),
    );
  }

  // The session page: a person pastes their API token once; the cookie lets a UI without login decode.
  const page = (title: string, body: Html) =>
    html`<!doctype html><html lang="en"><head><meta charset="utf-8"><meta name="robots" content="noindex"><title>${title} · Cédille Workflows</title>
<style>body{font-family:system-ui,sans-serif;max-width:40rem;margin:3rem auto;padding:0 1rem;color:#1a202c}input{width:100%;padding:.5rem;font:inherit}button{margin-top:1rem;padding:.5rem 1rem;font:inherit}</style>
</head><body><h1>${title}</h1>${body}</body></html>`.value;
  const sessionPage = {
    tags: ['codec'],
    operationId: 'showCodecSessionPage',
    summary: 'The page opening a codec session for the Temporal UI of this browser',
    response: { 200: htmlPage('The form asking for an API token') },
  };
  app.get('/codec/session', { config: { access: 'public' }, schema: sessionPage }, async (_req, reply) =>
    reply.type('text/html; charset=utf-8').header('cache-control', 'no-store').send(
      page(
        'Decode payloads in the Temporal UI',
        html`<p>Workflow payloads are encrypted. Paste your API token to let the Temporal UI of this browser decode them for 12 hours
(in the UI's codec settings, enable <em>Include cross-origin credentials</em>).</p>
<form method="post"><label>API token <input type="password" name="token" autocomplete="off" required></label><button type="submit">Open a codec session</button></form>`,
      ),
    ),
  );
  app.post(
    '/codec/session',
    {
      config: { access: 'public', rateLimit: { max: 10, timeWindow: 60_000 } },
      schema: {
        tags: ['codec'],
        operationId: 'openCodecSession',
        summary: 'Opens a codec session (an HttpOnly cookie) for the token given in the form',
        consumes: ['application/x-www-form-urlencoded'],
        body: z.object({ token: z.string().min(1).max(8192) }),
        response: { ...problemResponses, 200: htmlPage('Session open (Set-Cookie)'), 401: htmlPage('The token is not accepted') },
      },
    },
    async (req, reply) => {
      const identity = await auth.token(req.body.token);
      reply.type('text/html; charset=utf-8').header('cache-control', 'no-store');
      if (!identity || !allows(identity, 'read')) return reply.code(401).send(page('Unknown token', html`<p>That token is not accepted by this API. <a href="session">Try again</a>.</p>`));
      const secure = config.publicUrl.startsWith('https:') ? '; Secure' : '';
      reply.header('set-cookie', `${SESSION_COOKIE}=${signSession(config.linkSecret, identity)}; Path=/v1/codec; HttpOnly; SameSite=Lax; Max-Age=${SESSION_TTL_S}${secure}`);
      return reply.send(page('Codec session open', html`<p>The Temporal UI of this browser now decodes payloads as <strong>${identity.subject}</strong> for 12 hours.</p>`));
    },
  );
};

export default codecRoutes;
