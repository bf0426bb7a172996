/**
 * Which host a stream start goes to when there is more than one (docs/scaling.md), as pure functions over
 * a snapshot of the hosts' loads, so that the host simulation (bench/hosts-sim.ts) and its tests run the
 * very rules a router would:
 *
 *   content affinity   the title's rendezvous order (highest hash of title and host first): its home,
 *                      then the host it spills to when the home is full, and so on; with a bound, the home
 *                      also counts as full above (1 + ε) × the mean streams per host (consistent hashing
 *                      with bounded loads, Mirrokni, Thorup and Zadimoghaddam 2018)
 *   least-loaded       the host up with the lowest utilisation
 *   random             a host up with room, uniformly
 *
 * Rendezvous hashing (Thaler and Ravishankar 1998) moves only the titles of a host that joins or leaves,
 * about 1/N of them, and spreads a leaving host's titles over every other host instead of one neighbour.
 */
import { createHash } from 'node:crypto';

/** What a host can carry: 100 streams (the server's limit) or its 1 GbE link, which 100 streams at 8.5 Mbit/s fill. */
export interface Capacity {
  readonly streams: number;
  readonly mbitPerSecond: number;
}

/** One host on 1 GbE. */
export const HOST_CAPACITY: Capacity = { streams: 100, mbitPerSecond: 850 };

/** What routing sees of a host when a stream starts. */
export interface HostLoad {
  readonly up: boolean;
  readonly streams: number;
  readonly mbitPerSecond: number;
}

/** The share of its capacity a host uses: the larger of its streams' share and its link's. */
export function utilisation(h: HostLoad, cap: Capacity = HOST_CAPACITY): number {
  return Math.max(h.streams / cap.streams, h.mbitPerSecond / cap.mbitPerSecond);
}

/** Whether a host is up and can take one more stream of `mbit` Mbit/s. */
export function hasRoom(h: HostLoad, mbit: number, cap: Capacity = HOST_CAPACITY): boolean {
  return h.up && h.streams + 1 <= cap.streams && h.mbitPerSecond + mbit <= cap.mbitPerSecond;
}

/** A title's weight on a host: the first 48 bits of SHA-256 over both names, so every router computes the same. */
export function rendezvousScore(titleId: string, host: string): number {
  return createHash('sha256').update(host).update('\0').update(titleId).digest().readUIntBE(0, 6);
}

/** The hosts of a fixed list in each title's rendezvous order, computed once per title. */
export class Rendezvous {
  private readonly orders = new Map<string, readonly number[]>();

  constructor(readonly hosts: readonly string[]) {}

  /** Indices into `hosts`, the title's home first. */
  order(titleId: string): readonly number[] {
    let o = this.orders.get(titleId);
    if (!o) {
      const scores = this.hosts.map((h) => rendezvousScore(titleId, h));
      o = this.hosts.map((_, i) => i).sort((a, b) => scores[b]! - scores[a]! || a - b);
      this.orders.set(titleId, o);
    }
    return o;
  }

  /** The title's home among the hosts up: the first of its order for which `up` holds; null when none is up. */
  home(titleId: string, up: (i: number) => boolean = () => true): number | null {
    return this.order(titleId).find(up) ?? null;
  }
}

/**
 * Content affinity: the first host of `order` (a title's rendezvous order) that has room. With `bound`
 * (ε), a host also counts as full once it holds (1 + ε) × (streams on the hosts up + this one) / hosts up,
 * rounded up, so a hot title spills before its home is at the limit. Null when no host up has room.
 */
export function routeByAffinity(order: readonly number[], hosts: readonly HostLoad[], mbit: number, bound?: number, cap: Capacity = HOST_CAPACITY): number | null {
  let ceiling = Number.POSITIVE_INFINITY;
  if (bound !== undefined) {
    const up = hosts.filter((h) => h.up);
    const total = up.reduce((n, h) => n + h.streams, 0);
    if (up.length > 0) ceiling = Math.ceil(((1 + bound) * (total + 1)) / up.length);
  }
  for (const i of order) {
    const h = hosts[i]!;
    if (hasRoom(h, mbit, cap) && h.streams + 1 <= ceiling) return i;
  }
  // Every host up is over the bound but some may still have room: the bound gives way, the limit does not.
  return bound === undefined ? null : routeByAffinity(order, hosts, mbit, undefined, cap);
}

/** Least-loaded: the host up with room and the lowest utilisation (the lower index on a tie); null when none has room. */
export function routeLeastLoaded(hosts: readonly HostLoad[], mbit: number, cap: Capacity = HOST_CAPACITY): number | null {
  let best: number | null = null;
  for (const [i, h] of hosts.entries()) {
    if (hasRoom(h, mbit, cap) && (best === null || utilisation(h, cap) < utilisation(hosts[best]!, cap))) best = i;
  }
  return best;
}

/** Random: a host up with room, each as likely, drawn with `next` (uniform in [0, 1)); null when none has room. */
export function routeRandom(hosts: readonly HostLoad[], mbit: number, next: () => number, cap: Capacity = HOST_CAPACITY): number | null {
  const open = [...hosts.keys()].filter((i) => hasRoom(hosts[i]!, mbit, cap));
  return open.length === 0 ? null : open[Math.floor(next() * open.length)]!;
}
