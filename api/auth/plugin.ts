// Authentication and authorisation for every route: a route declares `config.access` (see
// identity.ts; default admin, so a forgotten declaration fails closed), the hook authenticates
// the bearer token (static tokens, then OIDC) and checks the access level.
import fp from 'fastify-plugin';
import type { FastifyPluginAsync, FastifyRequest } from 'fastify';
import { allows, type Access, type Identity } from './identity.ts';
import { staticTokenVerifier, type StaticToken } from './static-tokens.ts';
import { oidcVerifier, type OidcConfig } from './oidc.ts';
import { problem } from '../problem.ts';

declare module 'fastify' {
  interface FastifyRequest {
    identity: Identity | null;
  }
  interface FastifyContextConfig {
    access?: Access;
  }
}

export interface AuthOptions {
  tokens: readonly StaticToken[];
  oidc?: OidcConfig;
}

function bearer(req: FastifyRequest): string | undefined {
  const header = req.headers.authorization;
  const match = header?.match(/^Bearer\s+(\S+)\s*$/i);
  return match?.[1];
}

const auth: FastifyPluginAsync<AuthOptions> = async (app, opts) => {
  const fromStatic = staticTokenVerifier(opts.tokens);
  const fromOidc = opts.oidc ? oidcVerifier(opts.oidc) : undefined;
  app.decorateRequest('identity', null);

  app.addHook('onRequest', async (req, reply) => {
    const access: Access = req.routeOptions.config?.access ?? 'admin';
    if (access === 'public' || !req.routeOptions.url) return; // unknown routes fall through to the 404 handler
    const token = bearer(req);
    if (!token) {
      reply.header('www-authenticate', 'Bearer');
      return problem(reply, 401, { detail: 'missing bearer token (Authorization: Bearer <token>)' });
    }
    let identity = fromStatic(token);
    if (!identity && fromOidc) {
      try {
        identity = await fromOidc(token);
      } catch (err) {
        reply.header('www-authenticate', 'Bearer error="invalid_token"');
        return problem(reply, 401, { detail: `invalid token: ${(err as Error).message}` });
      }
    }
    if (!identity) {
      reply.header('www-authenticate', 'Bearer error="invalid_token"');
      return problem(reply, 401, { detail: 'unknown token' });
    }
    req.identity = identity;
    if (!allows(identity, access)) return problem(reply, 403, { detail: `${identity.subject} may not do this (needs ${access})` });
  });
};

export const authPlugin = fp(auth, { name: 'cedille-auth' });

/** The caller of an authenticated route (the hook guarantees it is set). */
export function caller(req: FastifyRequest): Identity {
  if (!req.identity) throw new Error('route is not authenticated: declare config.access');
  return req.identity;
}
