// Named events (signals) received by the run, kept until a waitFor step consumes them, so an event
// that arrives before its step starts is not lost. Every payload is also logged per name, consumed
// or not, for the `events` expression variable (read-only: reading it issues no command).
export class Inbox {
  private readonly queues = new Map<string, unknown[]>();
  private readonly log = new Map<string, unknown[]>();
  private received = 0;

  push(name: string, payload: unknown): void {
    const queue = this.queues.get(name) ?? [];
    queue.push(payload);
    this.queues.set(name, queue);
    this.record(name, payload);
  }

  private record(name: string, payload: unknown): void {
    const logged = this.log.get(name) ?? [];
    logged.push(payload);
    this.log.set(name, logged);
    this.received++;
  }

  private logView?: { at: number; events: Record<string, unknown[]> };

  /**
   * Every payload received per event name, in arrival order. Built on every expression evaluation, so the
   * copy is made once per new event: the same object until another event arrives (callers may cache by identity).
   */
  all(): Record<string, unknown[]> {
    if (this.logView?.at !== this.received) {
      this.logView = { at: this.received, events: Object.fromEntries([...this.log].map(([name, payloads]) => [name, [...payloads]])) };
    }
    return this.logView.events;
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

  /** Restores a continued run's inbox: its unconsumed events, and the log (absent in older runs: the unconsumed ones). */
  static from(snapshot: Record<string, unknown[]> = {}, log?: Record<string, unknown[]>): Inbox {
    const inbox = new Inbox();
    for (const [name, payloads] of Object.entries(snapshot)) {
      const queue = [...payloads];
      if (queue.length) inbox.queues.set(name, queue);
    }
    for (const [name, payloads] of Object.entries(log ?? snapshot)) for (const p of payloads) inbox.record(name, p);
    return inbox;
  }
}
