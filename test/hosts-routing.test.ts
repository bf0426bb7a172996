/**
 * Routing a stream start to one of several hosts (bench/hosts-routing.ts), the rules docs/scaling.md
 * chooses between: rendezvous homes that move only a joining or leaving host's share of titles, spill-over
 * in a title's own order when its home is full or down, the bounded-load ceiling, least-loaded and random;
 * and the host simulation's own bookkeeping on a small month.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { HOST_CAPACITY, hasRoom, Rendezvous, routeByAffinity, routeLeastLoaded, routeRandom, utilisation, type HostLoad } from '../bench/hosts-routing.ts';
import { simulateHostCount } from '../bench/hosts-sim.ts';
import { generator } from '../bench/random.ts';

const names = (n: number): string[] => Array.from({ length: n }, (_, i) => `host-${i + 1}`);
const TITLES = Array.from({ length: 2_000 }, (_, i) => `title-${i}`);
const idle = (n: number): HostLoad[] => Array.from({ length: n }, () => ({ up: true, streams: 0, mbitPerSecond: 0 }));
const homeName = (r: Rendezvous, id: string): string => r.hosts[r.home(id)!]!;

describe('when a host joins, rendezvous homes move only the titles the new host wins', () => {
  for (const n of [2, 4, 8]) {
    it(`${n} → ${n + 1} hosts: about 1/${n + 1} of titles move, every one of them to the new host`, () => {
      const before = new Rendezvous(names(n));
      const after = new Rendezvous(names(n + 1));
      const moved = TITLES.filter((id) => homeName(before, id) !== homeName(after, id));
      const share = moved.length / TITLES.length;
      assert.ok(share > 0.75 / (n + 1) && share < 1.25 / (n + 1), `${moved.length} of ${TITLES.length} titles moved`);
      assert.deepEqual(new Set(moved.map((id) => homeName(after, id))), new Set([`host-${n + 1}`]));
    });
  }

  it('a title has the same home whatever order the hosts are listed in', () => {
    const a = new Rendezvous(['host-1', 'host-2', 'host-3', 'host-4']);
    const b = new Rendezvous(['host-3', 'host-1', 'host-4', 'host-2']);
    for (const id of TITLES.slice(0, 200)) assert.equal(homeName(a, id), homeName(b, id));
  });
});

describe('when a host goes down, only its titles move, spread over every other host', () => {
  it('titles homed elsewhere keep their home; the down host\'s titles land on all seven others', () => {
    const r = new Rendezvous(names(8));
    const down = 2;
    const up = (i: number): boolean => i !== down;
    const landed = new Map<number, number>();
    for (const id of TITLES) {
      const before = r.home(id)!;
      const after = r.home(id, up)!;
      if (before !== down) assert.equal(after, before, `${id} moved though its home is up`);
      else landed.set(after, (landed.get(after) ?? 0) + 1);
    }
    assert.equal(landed.has(down), false);
    const moved = [...landed.values()].reduce((a, b) => a + b, 0);
    assert.equal(landed.size, 7);
    for (const [host, count] of landed) assert.ok(count > (0.5 * moved) / 7 && count < (1.5 * moved) / 7, `host ${host + 1} took ${count} of ${moved}`);
  });

  it('a title with no host up has no home', () => {
    assert.equal(new Rendezvous(names(3)).home('t', () => false), null);
  });
});

describe('when a title\'s home is full, the start spills in the title\'s own order', () => {
  const r = new Rendezvous(names(4));
  const order = r.order('Event 07/Day 3');

  it('an idle cluster serves the title at its home', () => {
    assert.equal(routeByAffinity(order, idle(4), 5), order[0]);
  });

  it('a home at 100 streams sends the start to the second host of the order, then the third', () => {
    const hosts = idle(4);
    hosts[order[0]!] = { up: true, streams: HOST_CAPACITY.streams, mbitPerSecond: 500 };
    assert.equal(routeByAffinity(order, hosts, 5), order[1]);
    hosts[order[1]!] = { up: true, streams: HOST_CAPACITY.streams, mbitPerSecond: 500 };
    assert.equal(routeByAffinity(order, hosts, 5), order[2]);
  });

  it('a home whose link cannot carry the stream\'s Mbit/s spills though it has stream slots left', () => {
    const hosts = idle(4);
    hosts[order[0]!] = { up: true, streams: 40, mbitPerSecond: 846 };
    assert.equal(hasRoom(hosts[order[0]!]!, 5), false);
    assert.equal(routeByAffinity(order, hosts, 5), order[1]);
    assert.equal(routeByAffinity(order, hosts, 4), order[0], 'a stream that fits stays home');
  });

  it('a home that is down sends the start on; no host with room refuses it', () => {
    const hosts = idle(4);
    hosts[order[0]!] = { up: false, streams: 0, mbitPerSecond: 0 };
    assert.equal(routeByAffinity(order, hosts, 5), order[1]);
    const full = hosts.map((h) => ({ ...h, streams: HOST_CAPACITY.streams }));
    assert.equal(routeByAffinity(order, full, 5), null);
  });
});

describe('when affinity has a load bound (ε)', () => {
  const order = [0, 1, 2, 3];
  const at = (...streams: number[]): HostLoad[] => streams.map((s) => ({ up: true, streams: s, mbitPerSecond: s * 5 }));

  it('the home takes the start while it stays within ceil((1 + ε) × (streams + 1) / hosts up)', () => {
    // 40 + 20 + 20 + 20 = 100 streams and this one: ceil(1.5 × 101 / 4) = 38, and the home at 40 is over it.
    assert.equal(routeByAffinity(order, at(40, 20, 20, 20), 5, 0.5), 1);
    // ceil(1.5 × 101 / 4) = 38: a home at 36 may take one more.
    assert.equal(routeByAffinity(order, at(36, 22, 22, 20), 5, 0.5), 0);
    assert.equal(routeByAffinity(order, at(40, 20, 20, 20), 5), 0, 'without a bound only the limit spills');
  });

  it('hosts down do not count toward the mean', () => {
    const hosts = at(30, 30, 0, 0);
    hosts[2] = { up: false, streams: 0, mbitPerSecond: 0 };
    hosts[3] = { up: false, streams: 0, mbitPerSecond: 0 };
    // Two hosts up with 60 streams: ceil(1.25 × 61 / 2) = 39, so the home at 30 keeps it.
    assert.equal(routeByAffinity(order, hosts, 5, 0.25), 0);
  });

  it('the bound gives way rather than refuse a start a host has room for', () => {
    // ceil(1.01 × 301 / 4) = 77: the only host with room (90 streams) is over the bound, the one under it has a full link.
    const hosts = at(100, 100, 10, 90);
    hosts[2] = { up: true, streams: 10, mbitPerSecond: 848 };
    assert.equal(routeByAffinity(order, hosts, 5, 0.01), 3);
  });
});

describe('when least-loaded chooses', () => {
  it('it picks the host with the lowest utilisation, skipping hosts down or full', () => {
    const hosts: HostLoad[] = [
      { up: true, streams: 50, mbitPerSecond: 100 },
      { up: true, streams: 20, mbitPerSecond: 100 },
      { up: false, streams: 0, mbitPerSecond: 0 },
      { up: true, streams: 35, mbitPerSecond: 100 },
    ];
    assert.equal(routeLeastLoaded(hosts, 5), 1);
    hosts[1] = { up: true, streams: HOST_CAPACITY.streams, mbitPerSecond: 100 };
    assert.equal(routeLeastLoaded(hosts, 5), 3);
  });

  it('utilisation is the fuller of streams and link: few streams on a busy link count as loaded', () => {
    const busyLink: HostLoad = { up: true, streams: 10, mbitPerSecond: 800 };
    const manyStreams: HostLoad = { up: true, streams: 60, mbitPerSecond: 300 };
    assert.ok(utilisation(busyLink) > utilisation(manyStreams));
    assert.equal(routeLeastLoaded([busyLink, manyStreams], 5), 1);
  });

  it('ties go to the lower index, and no room anywhere is null', () => {
    assert.equal(routeLeastLoaded(idle(3), 5), 0);
    assert.equal(routeLeastLoaded([{ up: true, streams: HOST_CAPACITY.streams, mbitPerSecond: 0 }], 5), null);
  });
});

describe('when random chooses', () => {
  it('it draws only among hosts with room, each about as often, and the same seed draws the same hosts', () => {
    const hosts = idle(4);
    hosts[1] = { up: true, streams: HOST_CAPACITY.streams, mbitPerSecond: 0 };
    const counts = [0, 0, 0, 0];
    const draw = generator(7);
    const picks: number[] = [];
    for (let i = 0; i < 3_000; i++) {
      const h = routeRandom(hosts, 5, draw)!;
      counts[h]!++;
      picks.push(h);
    }
    assert.equal(counts[1], 0);
    for (const i of [0, 2, 3]) assert.ok(counts[i]! > 850 && counts[i]! < 1_150, `host ${i + 1} drawn ${counts[i]} times of 3,000`);
    const again = generator(7);
    assert.deepEqual(Array.from({ length: 50 }, () => routeRandom(hosts, 5, again)), picks.slice(0, 50));
    assert.equal(routeRandom(hosts.map((h) => ({ ...h, up: false })), 5, draw), null);
  });
});

describe('when the host simulation replays a small month', () => {
  const r = simulateHostCount({ seed: 3, hosts: 2, viewersPerHost: 30, epsilon: 0.5 });

  it('every start is served or refused, no host exceeds its capacity, and the SSD serves at most every start', () => {
    assert.equal(r.rows.length, 5);
    for (const { run } of r.rows) {
      assert.equal(run.starts, r.plays);
      assert.ok(run.ssdStarts <= run.starts - run.refused);
      assert.ok(run.ssdBytes <= run.bytes);
      for (const peak of run.peakStreams) assert.ok(peak <= HOST_CAPACITY.streams);
      for (const peak of run.peakMbit) assert.ok(peak <= HOST_CAPACITY.mbitPerSecond);
    }
  });

  it('a failed host\'s streams are each moved or refused, and content affinity pools the SSD that random duplicates', () => {
    for (const { failure } of r.rows.slice(0, 4)) {
      const f = failure!.failed.failure!;
      assert.ok(f.held > 0, 'the busiest host held streams at the busiest moment');
      assert.equal(f.moved + f.refused, f.held);
      assert.equal(failure!.none.failure, null);
    }
    const [affinity, , , random] = r.rows;
    assert.ok(affinity!.run.ssdStarts > random!.run.ssdStarts, `affinity ${affinity!.run.ssdStarts} SSD starts, random ${random!.run.ssdStarts}`);
  });

  it('the same job gives the same figures', () => {
    const again = simulateHostCount({ seed: 3, hosts: 2, viewersPerHost: 30, epsilon: 0.5 });
    assert.deepEqual(again.rows.map((x) => x.run.ssdStarts), r.rows.map((x) => x.run.ssdStarts));
  });
});
