/**
 * Remembers the alarm time already set, so that asking for a later one costs no
 * storage call (the produce and poll paths ask often). Only an earlier time
 * moves the alarm. Call `fired()` when the alarm runs or storage is wiped.
 */
export class AlarmScheduler {
  private atMs: number | null = null;

  constructor(private readonly storage: DurableObjectStorage) {}

  async schedule(atMs: number): Promise<void> {
    if (this.atMs !== null && this.atMs <= atMs) return;
    this.atMs = atMs;
    await this.storage.setAlarm(atMs);
  }

  fired(): void {
    this.atMs = null;
  }
}
