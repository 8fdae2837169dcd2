// Rate limits of the approval page (GET/POST /approve/<token>), per link rather than per address:
// behind one Ingress (or one NAT) every anonymous caller shares an address, and 120 junk requests
// would otherwise lock every approver out of their links. A request whose token carries a valid
// signature spends its own link's budget; junk (no valid signature) spends its sender's address's.
import type { FastifyRequest } from 'fastify';
import { verifyLink } from './token.ts';

export function approvalPageRateKey(secret: string): (req: FastifyRequest) => string {
  return (req) => {
    const token = (req.params as { '*'?: unknown } | undefined)?.['*'];
    const verified = typeof token === 'string' && token.length <= 4200 ? verifyLink(token, secret) : undefined;
    return verified?.ok ? `approval-link:${verified.claims.nonce}` : `approval-page:${req.ip}`;
  };
}
