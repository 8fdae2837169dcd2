// Run tickets for the benchmarks' hand-made definitions: the worker admits an `interpret` start whose
// definition it has not registered only when the API signed it (trust/run-ticket.ts). The benchmarks
// sign their direct starts the same way, with the key bench/run.ts gives every bench process.
import { randomBytes } from 'node:crypto';
import { signRunTicket } from '../trust/run-ticket.ts';
import { signingKeyFromEnv } from '../trust/signing-key.ts';
import type { RunInput } from '../workflows/interpreter/run-input.ts';

/** The initiator of benchmark runs that name none. */
export const BENCH_INITIATOR = 'bench-runner';

/** Sets CEDILLE_LINK_SECRET for this process and the ones it starts (worker, API), unless already set. */
export function ensureBenchSigningKey(env: NodeJS.ProcessEnv = process.env): void {
  env.CEDILLE_LINK_SECRET ||= randomBytes(32).toString('base64url');
}

/** The signing key shared by the bench client, worker and API (CEDILLE_LINK_SECRET, set by bench/run.ts). */
export function benchSigningKey(): string {
  const key = signingKeyFromEnv();
  if (!key) throw new Error('CEDILLE_LINK_SECRET is not set: run benchmarks with `npm run bench`');
  return key;
}

/** A run input signed as the API signs its starts, so the worker admits it and trusts its initiator. */
export function ticketed(workflowId: string, run: RunInput): RunInput {
  const initiator = run.initiator ?? BENCH_INITIATOR;
  return { ...run, initiator, ticket: signRunTicket({ workflowId, definition: run.definition, input: run.input ?? null, initiator }, benchSigningKey()) };
}
