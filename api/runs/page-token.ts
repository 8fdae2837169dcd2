// Page tokens of the listing routes (runs, incidents). Temporal's own visibility token is opaque bytes
// that its server deserialises: a forged or truncated one makes it fail with UNKNOWN ("something went
// wrong"), indistinguishable from a real outage. So the API never hands out Temporal's token as is: it
// signs it (HMAC, the API's link secret, a domain of its own) together with a hash of the listing's
// query, and refuses, with a 400 naming `nextPageToken`, any token it did not issue for that listing.
import { createHash } from 'node:crypto';
import type { Client } from '@temporalio/client';
import type { FastifyReply } from 'fastify';
import { z } from 'zod';
import { openToken, signToken } from '../../trust/hmac-token.ts';
import { problem } from '../problem.ts';
import { listRuns, type RunPage } from './list.ts';

const DOMAIN = 'cedille-page.v1.';
const FIELD = 'querystring.nextPageToken';

/** The query-string schema of a page token: the signed form (`payload.signature`, base64url parts). */
export const PageTokenParam = z
  .string()
  .regex(/^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+$/, 'a nextPageToken returned by the previous page')
  .max(8192)
  .describe('The nextPageToken of the previous page of the same listing');

const Claims = z.strictObject({ q: z.string(), t: z.string().regex(/^[A-Za-z0-9_-]+$/) });

const queryHash = (query: string) => createHash('sha256').update(query).digest('base64url').slice(0, 22);

export function sealPageToken(secret: string, query: string, temporalToken: string): string {
  return signToken(DOMAIN, { q: queryHash(query), t: temporalToken }, secret);
}

/** Temporal's token inside a page token, or why it is refused. */
export function openPageToken(secret: string, query: string, token: string): { temporalToken: string } | { refused: string } {
  const opened = openToken(DOMAIN, token, secret);
  if (!opened.ok) return { refused: 'not a page token issued by this API (use the nextPageToken of the previous page, unchanged)' };
  const claims = Claims.safeParse(opened.claims);
  if (!claims.success) return { refused: 'not a page token issued by this API' };
  if (claims.data.q !== queryHash(query)) return { refused: 'issued for another listing (the filters changed since the previous page)' };
  return { temporalToken: claims.data.t };
}

/** One page of `query` whose nextPageToken is sealed; `refused` when the client's token is not one of ours. */
export async function listRunsPage(client: Client, secret: string, query: string, pageSize: number, token?: string): Promise<RunPage | { refused: string }> {
  let temporalToken: string | undefined;
  if (token !== undefined) {
    const opened = openPageToken(secret, query, token);
    if ('refused' in opened) return opened;
    temporalToken = opened.temporalToken;
  }
  const page = await listRuns(client, query, pageSize, temporalToken);
  return page.nextPageToken ? { runs: page.runs, nextPageToken: sealPageToken(secret, query, page.nextPageToken) } : { runs: page.runs };
}

export function badPageToken(reply: FastifyReply, reason: string) {
  return problem(reply, 400, { detail: `${FIELD}: ${reason}`, errors: [{ field: FIELD, message: reason }] });
}
