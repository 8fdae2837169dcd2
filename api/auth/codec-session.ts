// Who calls the codec endpoint: a bearer token like every route (the Temporal UI passes the user's
// OIDC access token when `codec.passAccessToken` is on), or a codec session cookie for UIs without
// login (the dev server's): a person pastes their API token once into GET /v1/codec/session, the
// API answers with an HttpOnly cookie scoped to /v1/codec, valid 12 h, carrying their identity
// signed with the API's link secret. The UI sends it with "include cross-origin credentials".
import { createHmac, timingSafeEqual } from 'node:crypto';
import type { FastifyRequest } from 'fastify';
import type { Identity } from './identity.ts';
import { staticTokenVerifier } from './static-tokens.ts';
import { oidcVerifier } from './oidc.ts';
import type { ApiConfig } from '../config.ts';

export const SESSION_COOKIE = 'cedille_codec';
export const SESSION_TTL_S = 12 * 3600;

interface SessionClaims {
  s: string;
  r: Identity['roles'];
  g: string[];
  /** Expiry, epoch seconds. */
  e: number;
}

function mac(secret: string, body: string): string {
  return createHmac('sha256', secret).update(`codec-session.${body}`).digest('base64url');
}

export function signSession(secret: string, who: Identity, now = Date.now()): string {
  const claims: SessionClaims = { s: who.subject, r: who.roles, g: who.groups, e: Math.floor(now / 1000) + SESSION_TTL_S };
  const body = Buffer.from(JSON.stringify(claims)).toString('base64url');
  return `${body}.${mac(secret, body)}`;
}

export function verifySession(secret: string, value: string, now = Date.now()): Identity | undefined {
  const [body, given] = value.split('.');
  if (!body || !given) return undefined;
  const expected = Buffer.from(mac(secret, body));
  const got = Buffer.from(given);
  if (got.length !== expected.length || !timingSafeEqual(got, expected)) return undefined;
  const c = JSON.parse(Buffer.from(body, 'base64url').toString('utf8')) as SessionClaims;
  if (c.e * 1000 < now) return undefined;
  return { subject: c.s, roles: c.r, groups: c.g, via: 'token' };
}

function cookie(req: FastifyRequest, name: string): string | undefined {
  for (const part of (req.headers.cookie ?? '').split(';')) {
    const eq = part.indexOf('=');
    if (eq > 0 && part.slice(0, eq).trim() === name) return part.slice(eq + 1).trim();
  }
  return undefined;
}

export type Authenticated = { identity: Identity } | { error: string };

/** The codec endpoint's authenticator: bearer token (static, then OIDC), else the session cookie. */
export function codecAuthenticator(config: ApiConfig): { token(token: string): Promise<Identity | undefined>; request(req: FastifyRequest): Promise<Authenticated> } {
  const fromStatic = staticTokenVerifier(config.staticTokens);
  const fromOidc = config.oidc ? oidcVerifier(config.oidc) : undefined;
  const token = async (t: string) => fromStatic(t) ?? (fromOidc ? await fromOidc(t).catch(() => undefined) : undefined);
  return {
    token,
    async request(req) {
      const bearer = req.headers.authorization?.match(/^Bearer\s+(\S+)\s*$/i)?.[1];
      if (bearer) {
        const identity = await token(bearer);
        return identity ? { identity } : { error: 'unknown or invalid bearer token' };
      }
      const session = cookie(req, SESSION_COOKIE);
      if (session) {
        const identity = verifySession(config.linkSecret, session);
        return identity ? { identity } : { error: 'codec session expired or invalid: open /v1/codec/session again' };
      }
      return { error: 'missing bearer token (Authorization: Bearer <token>) or codec session cookie (/v1/codec/session)' };
    },
  };
}
