/**
 * The workload of the cache simulation (bench/cache-sim.ts): a library of tournament recordings and a
 * month of plays over it, drawn from a seeded generator so that a seed replays the same month.
 *
 * The library is EVENTS folders of EPISODES videos ("Event 07/Day 1.mp4" … "Day 8.mp4"), 1-3 h each at
 * 2.5-8 Mbit/s, so 1-10 GB. Popularity is Zipf-like over events (weight 1/rank^s, ranks shuffled so
 * folder order says nothing). Viewers watch in sessions that follow a daily rhythm (evenings busiest);
 * a session either continues the series the viewer is in (the next episode, or the one left half-way)
 * or picks an event by popularity and usually starts at Day 1. After finishing an episode a viewer often
 * goes straight on to the next: the next-episode runs the pre-warm is for.
 */
import { generator } from './random.ts';

/** Shape of the generated month; the defaults are the workload docs/performance.md describes. */
export const WORKLOAD = {
  events: 25,
  episodes: 8,
  viewers: 30,
  days: 30,
  /** Zipf exponent over events. */
  zipfS: 1,
  hours: [1, 3] as const,
  mbitPerSecond: [2.5, 8] as const,
  sizeBytes: [1e9, 10e9] as const,
  /** Each viewer's mean sessions a day is drawn from this range. */
  sessionsPerDay: [1.5, 5] as const,
  /** Watch time a session allows, in hours. */
  sessionHours: [1, 4] as const,
  /** At a session's start, the chance to go on with the series the viewer is in. */
  continueSeries: 0.6,
  /** Having finished an episode, the chance to start the next one in the same session. */
  nextInSession: 0.5,
  /** A new series starts at Day 1 with this chance, at the last day (the final table) with the next, else anywhere. */
  startAtDay1: 0.6,
  startAtFinal: 0.15,
  /** How a play ends: a sample of a few minutes, a stop part-way (10-70 %), or watched past 70 % (half of those to the end). */
  sampleShare: 0.12,
  partialShare: 0.23,
  sampleMinutes: [1, 8] as const,
  /** Gap between two plays of one session, in seconds. */
  gapSeconds: [20, 180] as const,
} as const;

/** Relative chance that a session starts in each hour of the day (0 h … 23 h). */
const HOUR_WEIGHTS = [3, 2, 0.5, 0.3, 0.3, 0.3, 0.5, 1, 1, 1.5, 2, 2, 3, 3, 3, 3, 4, 5, 7, 9, 10, 10, 8, 5] as const;

const HOUR_MS = 3_600_000;
const DAY_MS = 24 * HOUR_MS;

/** One video of the simulated library. */
export interface Title {
  readonly id: string;
  /** Library-relative path, what nextInFolder orders. */
  readonly relPath: string;
  readonly event: number;
  /** 1-based day of the event. */
  readonly episode: number;
  readonly sizeBytes: number;
  readonly durationMs: number;
}

/** One stream start: a viewer plays a title from one point of it to another. */
export interface Play {
  readonly viewer: number;
  readonly title: Title;
  readonly startMs: number;
  /** Where playback starts and stops, as shares of the video (a resume starts past 0). */
  readonly from: number;
  readonly to: number;
}

/** A generated month. */
export interface Workload {
  readonly seed: number;
  readonly titles: readonly Title[];
  /** Plays in order of their start. */
  readonly plays: readonly Play[];
}


/** Draws from a generator: uniform ranges, weighted picks, Poisson counts. */
class Draw {
  constructor(readonly next: () => number) {}

  between(range: readonly [number, number]): number {
    return range[0] + (range[1] - range[0]) * this.next();
  }

  chance(p: number): boolean {
    return this.next() < p;
  }

  /** An index picked with the given weights. */
  weighted(weights: readonly number[]): number {
    let x = this.next() * weights.reduce((a, b) => a + b, 0);
    for (let i = 0; i < weights.length; i++) {
      x -= weights[i]!;
      if (x < 0) return i;
    }
    return weights.length - 1;
  }

  poisson(mean: number): number {
    const limit = Math.exp(-mean);
    let k = 0;
    for (let p = this.next(); p > limit; p *= this.next()) k++;
    return k;
  }
}

function library(d: Draw): Title[] {
  const w = WORKLOAD;
  const titles: Title[] = [];
  for (let e = 0; e < w.events; e++) {
    for (let day = 1; day <= w.episodes; day++) {
      const durationMs = d.between(w.hours) * HOUR_MS;
      const bytes = ((durationMs / 1000) * d.between(w.mbitPerSecond) * 1e6) / 8;
      const folder = `Event ${String(e + 1).padStart(2, '0')}`;
      titles.push({
        id: `e${e + 1}d${day}`,
        relPath: `${folder}/Day ${day}.mp4`,
        event: e,
        episode: day,
        sizeBytes: Math.round(Math.min(w.sizeBytes[1], Math.max(w.sizeBytes[0], bytes))),
        durationMs,
      });
    }
  }
  return titles;
}

/** How far a play goes from `from`, drawn from the watch-share mixture. */
function watchTo(d: Draw, t: Title, from: number): number {
  const w = WORKLOAD;
  const kind = d.weighted([w.sampleShare, w.partialShare, 1 - w.sampleShare - w.partialShare]);
  if (kind === 0) return Math.min(1, from + (d.between(w.sampleMinutes) * 60_000) / t.durationMs);
  const share = kind === 1 ? d.between([0.1, 0.7]) : d.chance(0.5) ? 1 : d.between([0.7, 1]);
  return from + (1 - from) * share;
}

/** Where a viewer is in a series: the episode to play next and where to resume it. */
interface Place {
  event: number;
  episode: number;
  resumeAt: number;
}

/** Generates one month of plays for `seed`. */
export function generateWorkload(seed: number): Workload {
  return generateMonth(seed, WORKLOAD.viewers);
}

/**
 * The month of `seed` with `viewers` viewers: the first WORKLOAD.viewers play exactly as in
 * generateWorkload(seed) and the others are drawn after them (the host simulation grows the audience so).
 */
export function generateMonth(seed: number, viewers: number): Workload {
  const w = WORKLOAD;
  const d = new Draw(generator(seed));
  const titles = library(d);
  const title = (event: number, episode: number): Title => titles[event * w.episodes + episode - 1]!;
  // Popularity rank r (1 = most watched) gets weight 1/r^s; which event holds which rank is shuffled.
  const ranks = Array.from({ length: w.events }, (_, i) => i + 1);
  for (let i = ranks.length - 1; i > 0; i--) {
    const j = Math.floor(d.next() * (i + 1));
    [ranks[i], ranks[j]] = [ranks[j]!, ranks[i]!];
  }
  const eventWeights = ranks.map((r) => 1 / r ** w.zipfS);

  const plays: Play[] = [];
  for (let viewer = 0; viewer < viewers; viewer++) {
    const perDay = d.between(w.sessionsPerDay);
    let place: Place | null = null;
    let freeAt = 0;
    const fresh = (): Place => {
      const event = d.weighted(eventWeights);
      const episode = d.chance(w.startAtDay1) ? 1 : d.chance(w.startAtFinal / (1 - w.startAtDay1)) ? w.episodes : 1 + Math.floor(d.next() * w.episodes);
      return { event, episode, resumeAt: 0 };
    };
    for (let day = 0; day < w.days; day++) {
      const starts = Array.from({ length: d.poisson(perDay) }, () => day * DAY_MS + (d.weighted(HOUR_WEIGHTS) + d.next()) * HOUR_MS).sort((a, b) => a - b);
      for (const sessionStart of starts) {
        let at = Math.max(sessionStart, freeAt);
        const until = at + d.between(w.sessionHours) * HOUR_MS;
        let current: Place = place && d.chance(w.continueSeries) ? place : fresh();
        while (at < until) {
          const t = title(current.event, current.episode);
          const from = current.resumeAt;
          const to = watchTo(d, t, from);
          plays.push({ viewer, title: t, startMs: at, from, to });
          at += (to - from) * t.durationMs;
          let goOn: boolean;
          if (to >= 0.95) {
            // Finished: the series moves on to the next day (or is over).
            place = current.episode < w.episodes ? { event: current.event, episode: current.episode + 1, resumeAt: 0 } : null;
            goOn = place !== null && d.chance(w.nextInSession);
            if (goOn) current = place!;
          } else if ((to - from) * t.durationMs > w.sampleMinutes[1] * 60_000) {
            // Stopped part-way: a later session may resume it; this one usually ends here.
            place = { ...current, resumeAt: to };
            goOn = false;
          } else {
            // Sampled a few minutes and left it: look for something else now and then.
            place = null;
            goOn = d.chance(0.5);
            if (goOn) current = fresh();
          }
          if (!goOn) break;
          at += d.between(w.gapSeconds) * 1000;
        }
        freeAt = at;
      }
    }
  }
  plays.sort((a, b) => a.startMs - b.startMs);
  return { seed, titles, plays };
}
