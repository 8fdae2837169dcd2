// The remote codec endpoint of the Temporal Web UI (and `temporal --codec-endpoint`): Temporal's
// protocol, `POST /v1/codec/decode` and `/v1/codec/encode` with `{ payloads: [{ metadata, data }] }`
// (protobuf JSON: base64 bytes) and the namespace in `X-Namespace`, answered with the same shape.
// Access: decode needs `read` (anyone who may read a run through the API already sees its decoded
// input and output there); encode needs `operator` (the UI encodes what it sends: workflow inputs,
// signals). Every call is audited (who, how many payloads, which key ids). Browsers: CORS for the
// origins in CEDILLE_CODEC_CORS_ORIGINS only, with credentials and the Authorization and X-Namespace
// headers allowed (the UI passes the user's access token when configured to).
// Without codec keys both directions are the identity, as the worker's converter is then.
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import type { Payload } from '@temporalio/common';
import { z } from 'zod';
import { AesGcmCodec, CodecError, keyIdOf } from '../../codec/index.ts';
import { caller } from '../auth/plugin.ts';
import { problem, problemResponses, Problem } from '../problem.ts';
import { mutating, type RoutesOptions } from '../services.ts';

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

  const transform = (direction: 'decode' | 'encode') => async (req: FastifyRequest<{ Body: z.infer<typeof Payloads> }>, reply: FastifyReply) => {
    const who = caller(req);
    const namespace = req.headers['x-namespace'];
    if (typeof namespace === 'string' && namespace && namespace !== config.temporal.namespace) {
      return problem(reply, 403, { detail: `namespace ${namespace} is not served here (this API serves ${config.temporal.namespace})` });
    }
    const payloads = req.body.payloads.map(fromWire);
    let out: Payload[];
    try {
      out = codec ? await codec[direction](payloads) : payloads;
    } catch (err) {
      if (!(err instanceof CodecError)) throw err;
      return problem(reply, 422, { type: CODEC_ERROR, title: 'Payload cannot be decoded', detail: err.message });
    }
    const keyIds = [...new Set((direction === 'decode' ? payloads : out).map(keyIdOf).filter((id): id is string => !!id))];
    audit.record({ actor: who.subject, action: `codec.${direction}`, target: config.temporal.namespace, details: { payloads: payloads.length, keyIds } });
    return { payloads: out.map(toWire) };
  };

  for (const direction of ['decode', 'encode'] as const) {
    app.options(`/codec/${direction}`, { config: { access: 'public' }, schema: { hide: true } }, preflight);
    app.post(
      `/codec/${direction}`,
      {
        config: direction === 'decode' ? { access: 'read' } : mutating(services, 'operator'),
        schema: {
          tags: ['codec'],
          summary: direction === 'decode' ? 'Decrypt payloads (Temporal remote codec protocol, for the Temporal UI)' : 'Encrypt payloads (Temporal remote codec protocol)',
          headers: z.object({ 'x-namespace': z.string().optional() }).loose(),
          body: Payloads,
          response: { ...problemResponses, 200: Payloads, 422: Problem },
        },
      },
      transform(direction),
    );
  }
};

export default codecRoutes;
