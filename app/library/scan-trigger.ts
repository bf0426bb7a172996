/**
 * When to scan: bursts of file events become one scan after a quiet moment (a resettable timer, as
 * navidrome's `trigger.Reset`), duplicate paths collapse, and a request made while a scan runs is kept for
 * one more scan after it ("already scanning, will retry"). Plain timers from an injectable scheduler, so
 * tests drive time; no file system and no chokidar here.
 */

/** Timers as the watcher reads them; tests pass a manual one. */
export interface Scheduler {
  now(): number;
  setTimeout(fn: () => void, ms: number): unknown;
  clearTimeout(handle: unknown): void;
}

/** The real timers; they never keep the process alive on their own. */
export const realScheduler: Scheduler = {
  now: () => Date.now(),
  setTimeout: (fn, ms) => setTimeout(fn, ms).unref(),
  clearTimeout: (handle) => clearTimeout(handle as NodeJS.Timeout),
};

/** How long the trigger waits. */
export interface TriggerTimings {
  /** A scan starts once no event has come for this long... */
  readonly quietMs: number;
  /** ...or this long after the first event it will cover, whichever is sooner (a copy that never pauses). */
  readonly maxWaitMs: number;
}

/** What one scan was asked for. */
export interface ScanRequest {
  /** Why: "changes" for file events, or what asked for it at once ("periodic", "root_returned"...). */
  readonly reasons: readonly string[];
  /** The distinct paths whose events it covers. */
  readonly paths: readonly string[];
  /** True when it waited for a scan that was running when it was asked for. */
  readonly retried: boolean;
}

/** Debounces scan requests into calls of `run`, one at a time. */
export class ScanTrigger {
  private readonly paths = new Set<string>();
  private readonly reasons = new Set<string>();
  private firstAt: number | null = null;
  private timer: unknown = null;
  private running: Promise<void> | null = null;
  private waited = false;
  private closed = false;

  constructor(
    private readonly run: (request: ScanRequest) => Promise<void>,
    private readonly scheduler: Scheduler,
    private readonly timings: TriggerTimings,
  ) {}

  /** A file or folder changed: scan once things are quiet. */
  notify(path: string): void {
    if (this.closed) return;
    this.paths.add(path);
    this.reasons.add('changes');
    this.arm();
  }

  /** Scan as soon as no scan is running, without waiting for quiet. */
  request(reason: string): void {
    if (this.closed) return;
    this.reasons.add(reason);
    this.arm();
  }

  /** True while a scan runs or one is waiting to. */
  get busy(): boolean {
    return this.running !== null || this.timer !== null;
  }

  /** Cancels a waiting scan and waits for a running one to end. */
  async close(): Promise<void> {
    this.closed = true;
    if (this.timer !== null) this.scheduler.clearTimeout(this.timer);
    this.timer = null;
    await this.running;
  }

  private arm(): void {
    const now = this.scheduler.now();
    this.firstAt ??= now;
    if (this.running) {
      this.waited = true; // already scanning, will retry: the end of this scan re-arms
      return;
    }
    const urgent = [...this.reasons].some((r) => r !== 'changes');
    const wait = urgent ? 0 : Math.max(0, Math.min(this.timings.quietMs, this.firstAt + this.timings.maxWaitMs - now));
    if (this.timer !== null) this.scheduler.clearTimeout(this.timer);
    this.timer = this.scheduler.setTimeout(() => this.fire(), wait);
  }

  private fire(): void {
    this.timer = null;
    if (this.closed || this.running) return;
    const request: ScanRequest = { reasons: [...this.reasons], paths: [...this.paths], retried: this.waited };
    this.paths.clear();
    this.reasons.clear();
    this.firstAt = null;
    this.waited = false;
    this.running = this.run(request)
      .catch(() => undefined) // `run` reports its own failures; the next event or period tries again
      .finally(() => {
        this.running = null;
        if (!this.closed && this.reasons.size > 0) this.arm();
      });
  }
}
