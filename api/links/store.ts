// Single use of approval links, across API replicas: the nonces of links in the API's database
// (db/). Answering a link first claims its nonce with one atomic INSERT (only one replica's
// succeeds), then marks it used once the workflow took the answer, or releases the claim when the
// answer was refused or failed. A claim left by a replica that died mid-answer expires after
// `claimTtlMs`, so the link does not stay unusable; the workflow itself still refuses a second answer.
import { randomBytes } from 'node:crypto';
import { sql } from 'kysely';
import { z } from 'zod';
import type { Db } from '../../db/index.ts';
import { storable } from '../../db/storable.ts';

export const UsedLink = z.object({
  nonce: z.string(),
  at: z.string(),
  /** Directory id of the person who used it. */
  by: z.string(),
  byName: z.string().optional(),
  decision: z.enum(['approve', 'reject']),
  workflowId: z.string(),
  stepId: z.string(),
});
export type UsedLink = z.infer<typeof UsedLink>;

/** A held claim on a nonce: give it to `release` or `markUsed`. */
export interface LinkClaim {
  nonce: string;
  id: string;
}

export const CLAIM_TTL_MS = 60_000;

export class UsedLinkStore {
  constructor(
    private readonly db: Db,
    private readonly claimTtlMs = CLAIM_TTL_MS,
  ) {}

  async get(nonce: string): Promise<UsedLink | undefined> {
    const row = await this.db.selectFrom('used_links').selectAll().where('nonce', '=', nonce).where('state', '=', 'used').executeTakeFirst();
    if (!row) return undefined;
    return UsedLink.parse({
      nonce: row.nonce,
      at: new Date(row.used_at!).toISOString(),
      by: row.by,
      ...(row.by_name === null ? {} : { byName: row.by_name }),
      decision: row.decision,
      workflowId: row.workflow_id,
      stepId: row.step_id,
    });
  }

  /** Reserves the nonce for one in-flight answer; undefined when used or being used (by any replica). */
  async claim(nonce: string): Promise<LinkClaim | undefined> {
    const id = randomBytes(12).toString('base64url');
    const stale = sql<Date>`now() - ${`${this.claimTtlMs} milliseconds`}::interval`;
    const row = await this.db
      .insertInto('used_links')
      .values({ nonce, state: 'claimed', claim_id: id, claimed_at: sql<Date>`now()` })
      // A claim older than the TTL is taken over (its replica died mid-answer); a used link never is.
      .onConflict((oc) =>
        oc
          .column('nonce')
          .doUpdateSet({ claim_id: id, claimed_at: sql<Date>`now()` })
          .where('used_links.state', '=', 'claimed')
          .where('used_links.claimed_at', '<', stale),
      )
      .returning('claim_id')
      .executeTakeFirst();
    return row?.claim_id === id ? { nonce, id } : undefined;
  }

  /** Gives a claim back (the answer was refused or failed): the link stays usable. */
  async release(claim: LinkClaim): Promise<void> {
    await this.db.deleteFrom('used_links').where('nonce', '=', claim.nonce).where('state', '=', 'claimed').where('claim_id', '=', claim.id).execute();
  }

  /** Records the link as used: the workflow took this answer, so it wins over any claim still on the nonce. */
  async markUsed(entry: Omit<UsedLink, 'at'> & { at?: string }): Promise<UsedLink> {
    const full = UsedLink.parse({ ...entry, at: entry.at ?? new Date().toISOString() });
    const used = storable({ state: 'used' as const, claim_id: null, used_at: full.at, by: full.by, by_name: full.byName ?? null, decision: full.decision, workflow_id: full.workflowId, step_id: full.stepId });
    await this.db
      .insertInto('used_links')
      .values({ nonce: full.nonce, claimed_at: full.at, ...used })
      .onConflict((oc) => oc.column('nonce').doUpdateSet(used).where('used_links.state', '=', 'claimed'))
      .execute();
    return full;
  }
}
