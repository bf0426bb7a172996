/**
 * A sleeping NAS for the bench: wraps the server's NAS opener (the `openNas` seam of the composition
 * root) so that the first open of each file after `sleep()` waits a spin-up delay, as a disk that went to
 * sleep does. Opens that arrive while the file is spinning up wait for the same wake-up; once awake, opens
 * go straight through. Optionally the file falls asleep again after some idle time (no open for that
 * long). Only opens are delayed: once a handle is open its reads run at page-cache speed, which stands for
 * a NAS that streams at full speed once awake.
 *
 * Every open is logged with how long it waited, so the bench can tell which request hit the sleeping disk.
 */
import { openInside, type Opener } from '../app/library/index.ts';

/** One NAS open as the bench saw it. */
export interface NasOpen {
  readonly file: string;
  /** performance.now() when the open was asked for, and how long it waited for the spin-up. */
  readonly at: number;
  readonly waitedMs: number;
}

/** The state of one file's disk. */
interface Disk {
  /** performance.now() when it is (or was) awake. */
  awakeAt: number;
  lastOpenAt: number;
}

export class SlowNas {
  /** Files that are awake or spinning up; a file not in it is asleep when `asleep` is set, else awake. */
  private readonly disks = new Map<string, Disk>();
  private asleep = false;
  readonly opens: NasOpen[] = [];

  /**
   * @param spinUpMs how long the first open of a sleeping file waits
   * @param idleSleepMs a file with no open for this long falls asleep again; null: it stays awake
   */
  constructor(
    readonly spinUpMs: number,
    readonly idleSleepMs: number | null = null,
  ) {}

  /** Puts every file to sleep: the next open of each waits the spin-up. */
  sleep(): void {
    this.disks.clear();
    this.asleep = true;
  }

  /** Wakes every file at once (the bench's setup, so heads are written without waiting). */
  wake(): void {
    this.disks.clear();
    this.asleep = false;
  }

  /** Forgets the log of opens. */
  clearLog(): void {
    this.opens.length = 0;
  }

  /** When the file woke or will wake (performance.now()), or undefined while nobody has asked for it since sleep(). */
  awakeAt(file: string): number | undefined {
    return this.disks.get(file)?.awakeAt;
  }

  /** The opener to hand to the server. */
  readonly open: Opener = async (realRoot, full) => {
    const now = performance.now();
    let d = this.disks.get(full);
    const dozed = d !== undefined && this.idleSleepMs !== null && now >= d.awakeAt && now - d.lastOpenAt > this.idleSleepMs;
    if (!d || dozed) {
      d = { awakeAt: this.asleep || dozed ? now + this.spinUpMs : now, lastOpenAt: now };
      this.disks.set(full, d);
    }
    d.lastOpenAt = now;
    const wait = Math.max(0, d.awakeAt - now);
    this.opens.push({ file: full, at: now, waitedMs: wait });
    if (wait > 0) await new Promise((r) => setTimeout(r, wait));
    d.lastOpenAt = performance.now();
    return openInside(realRoot, full);
  };
}
