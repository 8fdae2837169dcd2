// What intake remembers of each alert group, durably: the last status seen per alert fingerprint
// (and which incident run covered it), and whether the running incident was told `resolved`. One
// JSON file per group under `<data dir>/incidents/groups/`, replaced atomically (write + rename).
// Deliveries of one group are serialised in this process; Temporal's workflow-id uniqueness is what
// keeps two API processes from opening the same incident twice.
import { mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';

export interface AlertRecord {
  status: 'firing' | 'resolved';
  startsAt: string;
  endsAt?: string;
  /** When intake last changed this record. */
  seenAt: string;
  /** Temporal run id of the incident that received this alert (input or event). */
  runId?: string;
}

export interface GroupState {
  groupKey: string;
  workflowId: string;
  alerts: Record<string, AlertRecord>;
  /** How many incidents of this group came before the current one (its workflow id's suffix). */
  generation?: number;
  /** Run id of the incident that was sent `resolved` (once per incident). */
  resolvedSentTo?: string;
  updatedAt: string;
}

export class GroupStateStore {
  private readonly dir: string;
  private readonly locks = new Map<string, Promise<unknown>>();

  constructor(dataDir: string) {
    this.dir = join(dataDir, 'incidents', 'groups');
    mkdirSync(this.dir, { recursive: true });
  }

  private file(workflowId: string): string {
    return join(this.dir, `${workflowId}.json`);
  }

  load(workflowId: string, groupKey: string): GroupState {
    try {
      return JSON.parse(readFileSync(this.file(workflowId), 'utf8')) as GroupState;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
      return { groupKey, workflowId, alerts: {}, updatedAt: new Date().toISOString() };
    }
  }

  save(state: GroupState): void {
    state.updatedAt = new Date().toISOString();
    const target = this.file(state.workflowId);
    const tmp = `${target}.${randomBytes(6).toString('hex')}.tmp`;
    writeFileSync(tmp, `${JSON.stringify(state, null, 1)}\n`);
    renameSync(tmp, target);
  }

  /** Runs `fn` alone for this group (in this process): concurrent deliveries queue up. */
  async exclusive<T>(workflowId: string, fn: () => Promise<T>): Promise<T> {
    const previous = this.locks.get(workflowId) ?? Promise.resolve();
    const run = previous.then(fn, fn);
    const settled = run.catch(() => undefined);
    this.locks.set(workflowId, settled);
    try {
      return await run;
    } finally {
      if (this.locks.get(workflowId) === settled) this.locks.delete(workflowId);
    }
  }
}
