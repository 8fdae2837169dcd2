// Static bearer tokens (the embedded default, CI robots): compared in constant time by digest.
import { createHash, timingSafeEqual } from 'node:crypto';
import { z } from 'zod';
import type { Identity } from './identity.ts';

export const StaticToken = z.object({
  token: z.string().min(32, 'static tokens must be at least 32 characters'),
  subject: z.string().min(1),
  name: z.string().optional(),
  roles: z.array(z.enum(['admin', 'operator'])).default([]),
  groups: z.array(z.string().min(1)).default([]),
});
export type StaticToken = z.infer<typeof StaticToken>;

const digest = (s: string) => createHash('sha256').update(s).digest();

export function staticTokenVerifier(tokens: readonly StaticToken[]): (bearer: string) => Identity | undefined {
  const known = tokens.map((t) => ({ ...t, digest: digest(t.token) }));
  return (bearer) => {
    const d = digest(bearer);
    const match = known.find((t) => timingSafeEqual(t.digest, d));
    if (!match) return undefined;
    return { subject: match.subject, ...(match.name ? { name: match.name } : {}), roles: [...match.roles], groups: [...match.groups], via: 'token' };
  };
}
