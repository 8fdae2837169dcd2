// Single use of approval links: the nonces of used links, one JSON line each in
// `<data dir>/used-links.jsonl`, appended synchronously once the answer was accepted and loaded in
// memory at start, so a link stays used across restarts. A link being answered right now is
// claimed in memory, so two concurrent submissions of one link cannot both reach the workflow.
import { appendFileSync, existsSync, mkdirSync, readFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { z } from 'zod';

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

export class UsedLinkStore {
  private readonly used = new Map<string, UsedLink>();
  private readonly claimed = new Set<string>();

  constructor(readonly file: string) {
    mkdirSync(dirname(file), { recursive: true });
    if (!existsSync(file)) return;
    const text = readFileSync(file, 'utf8');
    // A crash mid-append leaves a torn last line: end it, so the next entry starts on a line of its own.
    if (text && !text.endsWith('\n')) appendFileSync(file, '\n');
    for (const line of text.split('\n')) {
      if (!line.trim()) continue;
      try {
        const entry = UsedLink.parse(JSON.parse(line));
        if (!this.used.has(entry.nonce)) this.used.set(entry.nonce, entry);
      } catch {
        // A torn last line (crash mid-append) is skipped; every complete line before it counts.
      }
    }
  }

  get(nonce: string): UsedLink | undefined {
    return this.used.get(nonce);
  }

  /** Reserves the nonce for one in-flight answer; false when used or being used. */
  claim(nonce: string): boolean {
    if (this.used.has(nonce) || this.claimed.has(nonce)) return false;
    this.claimed.add(nonce);
    return true;
  }

  /** Gives a claim back (the answer was refused or failed): the link stays usable. */
  release(nonce: string): void {
    this.claimed.delete(nonce);
  }

  /** Records the link as used (on disk first, then in memory) and drops the claim. */
  markUsed(entry: Omit<UsedLink, 'at'> & { at?: string }): UsedLink {
    const full = UsedLink.parse({ ...entry, at: entry.at ?? new Date().toISOString() });
    appendFileSync(this.file, `${JSON.stringify(full)}\n`);
    this.used.set(full.nonce, full);
    this.claimed.delete(full.nonce);
    return full;
  }

  get size(): number {
    return this.used.size;
  }
}
