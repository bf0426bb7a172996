/**
 * Watch progress (v1 §3.3, §3.4): where a user stopped in a video, as seconds and a whole percent.
 */
import { ValidationFailed } from '../model/errors.ts';
import type { WatchProgress } from '../model/stream.ts';
import type { ProgressStore } from '../persistence/progress-store.ts';

/** The whole percent of `position` in `duration`, 0-100. */
export function progressPercent(position: number, duration: number): number {
  if (duration <= 0) return 0;
  return Math.min(100, Math.max(0, Math.round((position / duration) * 100)));
}

/** Checks a position and duration: finite, not negative, position within duration. */
export function validateProgress(position: unknown, duration: unknown): { position: number; duration: number } {
  if (typeof position !== 'number' || !Number.isFinite(position) || position < 0) {
    throw new ValidationFailed('position', 'must be a number of seconds, 0 or more');
  }
  if (typeof duration !== 'number' || !Number.isFinite(duration) || duration < 0) {
    throw new ValidationFailed('duration', 'must be a number of seconds, 0 or more');
  }
  if (position > duration) throw new ValidationFailed('position', 'must not be past the duration');
  return { position, duration };
}

/** Saves and reads progress. */
export class ProgressService {
  constructor(private readonly store: ProgressStore) {}

  /** Saves a validated position. */
  update(userId: string, contentId: string, position: unknown, duration: unknown): WatchProgress {
    const v = validateProgress(position, duration);
    const p: WatchProgress = {
      userId,
      contentId,
      position: v.position,
      duration: v.duration,
      progressPercent: progressPercent(v.position, v.duration),
      updatedAt: new Date().toISOString(),
    };
    this.store.save(p);
    return p;
  }

  /** One position, or undefined. */
  get(userId: string, contentId: string): WatchProgress | undefined {
    return this.store.get(userId, contentId);
  }

  /** The user's recent videos, newest first. */
  list(userId: string): WatchProgress[] {
    return this.store.listForUser(userId);
  }
}
