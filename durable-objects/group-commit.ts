/**
 * Group commit (as Kafka's log flush and PostgreSQL's commit_delay, without a
 * delay): a write arriving while a commit is in flight waits for it, then goes
 * into the next transaction together with every other write that arrived
 * meanwhile, so one commit (one fsync) serves the whole group. Each caller gets
 * its own write's result only once the transaction holding it is durable.
 *
 * A write is a synchronous function (its statements and in-memory changes with
 * no await between them, so the group's writes run back to back, in arrival
 * order, inside one implicit transaction); it decides on the state it finds when
 * it runs, not the state when it was submitted. With no commit in flight it
 * runs at once: an idle object adds no latency.
 */

type Pending = {
  write: () => unknown;
  resolve: (value: unknown) => void;
  reject: (error: unknown) => void;
};

export class GroupCommit {
  private queue: Pending[] = [];
  private committing = false;
  /** Commits and the writes in them (read by tests: how well groups form). */
  readonly stats = { commits: 0, writes: 0 };

  /** The object's storage (DurableObjectStorage): sync() resolves once every write so far is durable. */
  constructor(private readonly storage: { sync(): Promise<void> }) {}

  /** Runs `write` in the next group; answers its result once that group's transaction is durable. */
  submit<T>(write: () => T): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      this.queue.push({ write, resolve: resolve as (value: unknown) => void, reject });
      if (!this.committing) this.flush();
    });
  }

  private flush(): void {
    const group = this.queue;
    this.queue = [];
    this.committing = true;
    const outcomes = group.map((entry) => {
      try {
        return { ok: true as const, value: entry.write() };
      } catch (error) {
        return { ok: false as const, error };
      }
    });
    this.stats.commits++;
    this.stats.writes += group.length;
    const settle = (failure: { error: unknown } | null) => {
      group.forEach((entry, i) => {
        const outcome = outcomes[i]!;
        if (failure !== null) entry.reject(failure.error);
        else if (outcome.ok) entry.resolve(outcome.value);
        else entry.reject(outcome.error);
      });
      this.committing = false;
      if (this.queue.length > 0) this.flush();
    };
    this.storage.sync().then(
      () => settle(null),
      (error: unknown) => settle({ error }),
    );
  }
}
