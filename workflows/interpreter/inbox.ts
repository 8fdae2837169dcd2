// Named events (signals) received by the run, kept until a waitFor step consumes them, so an event
// that arrives before its step starts is not lost.
export class Inbox {
  private readonly queues = new Map<string, unknown[]>();
  private received = 0;

  push(name: string, payload: unknown): void {
    const queue = this.queues.get(name) ?? [];
    queue.push(payload);
    this.queues.set(name, queue);
    this.received++;
  }

  /** Removes and returns the first payload of `name` accepted by `accept`; rejected ones are dropped via `onReject`. */
  take(name: string, accept: (payload: unknown) => string | undefined, onReject: (reason: string) => void): { payload: unknown } | undefined {
    const queue = this.queues.get(name);
    while (queue?.length) {
      const payload = queue.shift();
      const problem = accept(payload);
      if (problem === undefined) return { payload };
      onReject(problem);
    }
    return undefined;
  }

  /** Changes whenever an event arrives (for `condition`). */
  get version(): number {
    return this.received;
  }

  snapshot(): Record<string, unknown[]> {
    return Object.fromEntries([...this.queues].filter(([, q]) => q.length));
  }

  static from(snapshot: Record<string, unknown[]> = {}): Inbox {
    const inbox = new Inbox();
    for (const [name, payloads] of Object.entries(snapshot)) for (const p of payloads) inbox.push(name, p);
    return inbox;
  }
}
