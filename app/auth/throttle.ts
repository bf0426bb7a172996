/**
 * Login throttling: failed attempts are counted per username and per address in a sliding window.
 * Counters live in memory only and expire with the window; a restart forgets them, which is fine
 * for a LAN server (an attacker restarting it has bigger powers).
 */

import type { Clock } from '../model/clock.ts';

/** Counts failures by key within a window. */
export class FailureWindow {
  private readonly failures = new Map<string, number[]>();
  private lastSweep = 0;

  constructor(private readonly max: number, private readonly windowMs: number, private readonly now: Clock = Date.now) {}

  /** Seconds until `key` may try again, or 0 when it may try now. */
  retryAfter(key: string): number {
    const list = this.prune(key);
    if (list.length < this.max) return 0;
    const oldest = list[list.length - this.max] ?? this.now();
    return Math.max(1, Math.ceil((oldest + this.windowMs - this.now()) / 1000));
  }

  /** Records a failure. */
  fail(key: string): void {
    const list = this.prune(key);
    list.push(this.now());
    this.failures.set(key, list);
    this.sweep();
  }

  /** Forgets a key (after a successful login). */
  reset(key: string): void {
    this.failures.delete(key);
  }


  private prune(key: string): number[] {
    const cutoff = this.now() - this.windowMs;
    const list = (this.failures.get(key) ?? []).filter((t) => t > cutoff);
    if (list.length === 0) this.failures.delete(key);
    return list;
  }

  /** Drops expired keys at most once a window, so memory stays bounded by recent traffic. */
  private sweep(): void {
    const now = this.now();
    if (now - this.lastSweep < this.windowMs) return;
    this.lastSweep = now;
    for (const key of [...this.failures.keys()]) this.prune(key);
  }
}
