/**
 * The SSD tier's rules as pure functions with a driven clock: popularity in a sliding window, what to
 * evict and what never, pins over budget, the next episode by natural order, and byte sizes in settings.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { CachePolicy, naturalCompare, nextInFolder } from '../app/cache/policy.ts';
import { parseBytes } from '../app/config/config.ts';
import { splitByHead } from '../app/server/send-video.ts';

const H = 3_600_000;

describe('when starts are counted in a sliding window', () => {
  it('the 3rd start within 24 h makes a video popular; starts older than the window do not count', () => {
    const p = new CachePolicy({ promoteAfter: 3, promoteWindowMs: 24 * H, budgetBytes: 1000 });
    p.noteStart('v', 0);
    p.noteStart('v', 10 * H);
    assert.equal(p.isPopular('v', 10 * H), false);
    assert.equal(p.noteStart('v', 25 * H), 2, 'the first start left the window');
    assert.equal(p.isPopular('v', 25 * H), false);
    p.noteStart('v', 26 * H);
    assert.equal(p.isPopular('v', 26 * H), true);
    p.add('copy', 'v', 100, 26 * H);
    assert.equal(p.isPopular('v', 26 * H), false, 'a video with a copy is not promoted again');
  });
});

describe('when room is made in the budget', () => {
  const fill = (): CachePolicy => {
    const p = new CachePolicy({ promoteAfter: 1, promoteWindowMs: H, budgetBytes: 1000 });
    p.add('head', 'h1', 100, 0);
    p.add('copy', 'old', 300, 1);
    p.add('copy', 'mid', 300, 2);
    p.add('copy', 'new', 300, 3);
    return p;
  };

  it('among copies of equal value the least recently streamed go first, heads last', () => {
    const p = fill();
    assert.deepEqual(p.victimsFor(0), []);
    assert.deepEqual(p.victimsFor(200), [{ kind: 'copy', id: 'old' }]);
    p.touch('copy', 'old', 10);
    assert.deepEqual(p.victimsFor(200), [{ kind: 'copy', id: 'mid' }]);
    assert.deepEqual(p.victimsFor(1000), [
      { kind: 'copy', id: 'mid' },
      { kind: 'copy', id: 'new' },
      { kind: 'copy', id: 'old' },
      { kind: 'head', id: 'h1' },
    ]);
  });

  it('a leased or pinned copy is never a victim, and nothing is named when the room cannot be made', () => {
    const p = fill();
    const release = p.lease('copy', 'old');
    p.pin('mid');
    assert.deepEqual(p.victimsFor(200), [{ kind: 'copy', id: 'new' }]);
    assert.equal(p.victimsFor(600), undefined, 'only new and the head are free: 400 bytes');
    release();
    assert.deepEqual(p.victimsFor(600), [
      { kind: 'copy', id: 'old' },
      { kind: 'copy', id: 'new' },
    ]);
    assert.equal(p.roomForPin('x'), 1000 - 300 - 100, 'the budget less other pins and the heads');
  });

  it('the free space of the disk less its reserve limits the budget too', () => {
    const p = fill();
    assert.deepEqual(p.victimsFor(50, 0), [{ kind: 'copy', id: 'old' }], 'no free disk: the new bytes must replace old ones');
  });
});

describe('when copies differ in size and starts (GreedyDual-Size-Frequency: L + max(1, starts) / size)', () => {
  const policy = (): CachePolicy => new CachePolicy({ promoteAfter: 3, promoteWindowMs: 24 * H, budgetBytes: 1000 });

  it('a large copy goes before a small one of the same starts, even when streamed more recently', () => {
    const p = policy();
    p.add('copy', 'small', 200, 1 * H);
    p.add('copy', 'large', 600, 2 * H);
    p.touch('copy', 'large', 3 * H);
    assert.deepEqual(p.victimsFor(300), [{ kind: 'copy', id: 'large' }], '1/600 is worth less than 1/200');
  });

  it('starts within the window before the copy and starts while it is held raise its value', () => {
    const p = policy();
    for (const t of [0, 1, 2]) p.noteStart('popular', t * H);
    p.add('copy', 'popular', 600, 3 * H);
    p.add('copy', 'once', 300, 4 * H);
    assert.deepEqual(p.victimsFor(200), [{ kind: 'copy', id: 'once' }], '3/600 beats 1/300');
    p.noteStart('once', 5 * H);
    p.noteStart('once', 6 * H);
    assert.deepEqual(p.victimsFor(200), [{ kind: 'copy', id: 'popular' }], '3/300 now beats 3/600');
  });

  it('the clock rises to the value of each copy evicted for the budget, so old value fades', () => {
    const p = policy();
    p.add('copy', 'old', 100, 0);
    p.noteStart('old', 1 * H);
    p.noteStart('old', 1.5 * H); // 2/100 at L = 0
    p.add('copy', 'gone', 100, 2 * H); // 1/100
    assert.ok(p.remove('copy', 'gone', 'budget')); // L = 1/100
    p.add('copy', 'admin', 100, 3 * H); // L + 1/100 = 2/100: ties old, which was streamed earlier
    assert.deepEqual(p.victimsFor(900), [{ kind: 'copy', id: 'old' }]);
    assert.ok(p.remove('copy', 'admin', 'admin'), 'an eviction by the operator does not move the clock');
    p.add('copy', 'next', 100, 4 * H); // still L = 1/100: 2/100, ties old again
    assert.deepEqual(p.victimsFor(900), [{ kind: 'copy', id: 'old' }]);
    assert.ok(p.remove('copy', 'next', 'budget')); // L = 2/100
    p.add('copy', 'new', 100, 5 * H); // 3/100: the copy started twice long ago now goes first
    p.noteStart('old', 6 * H); // but a start now values old at L + 3/100 = 5/100
    assert.deepEqual(p.victimsFor(900), [{ kind: 'copy', id: 'new' }]);
  });

  it('a copy not started yet counts as one start, and its first start replaces that stand-in rather than adding to it', () => {
    const p = policy();
    p.noteStart('twice', 0);
    p.noteStart('twice', 1 * H);
    p.add('copy', 'twice', 100, 2 * H); // 2/100
    p.add('copy', 'prewarm', 100, 3 * H); // no start yet: stands for one, 1/100
    assert.deepEqual(p.victimsFor(900), [{ kind: 'copy', id: 'prewarm' }]);
    p.noteStart('prewarm', 4 * H); // the start it was made for: still 1/100, not 2/100
    assert.deepEqual(p.victimsFor(900), [{ kind: 'copy', id: 'prewarm' }], 'one real start is worth less than two, though streamed later');
    p.noteStart('prewarm', 5 * H); // a second real start: 2/100, ties twice, which was placed earlier
    assert.deepEqual(p.victimsFor(900), [{ kind: 'copy', id: 'twice' }]);
  });

  it('a pre-warm of a video started within the window before keeps those starts and adds its own', () => {
    const p = policy();
    p.noteStart('seen', 0);
    p.add('copy', 'seen', 100, 1 * H); // 1/100
    p.add('copy', 'fresh', 100, 1 * H); // stands for one: 1/100
    p.noteStart('seen', 2 * H); // 2/100
    p.noteStart('fresh', 2 * H); // 1/100
    assert.deepEqual(p.victimsFor(900), [{ kind: 'copy', id: 'fresh' }]);
  });

  it('heads still go last, leased and pinned copies never, whatever their value', () => {
    const p = policy();
    p.add('head', 'h', 100, 0);
    p.add('copy', 'big', 600, 1 * H);
    p.add('copy', 'pinned', 200, 2 * H);
    p.pin('pinned');
    const release = p.lease('copy', 'big');
    assert.equal(p.victimsFor(400), undefined, 'only the head is free: 100 bytes');
    release();
    assert.deepEqual(p.victimsFor(750), [
      { kind: 'copy', id: 'big' },
      { kind: 'head', id: 'h' },
    ]);
  });
});

describe('when the next video of a folder is looked for', () => {
  it('episodes follow in natural order, and only within their own folder', () => {
    const all = ['Event/Day 10.mp4', 'Event/Day 2.mp4', 'Event/Day 1.mp4', 'Event/Extras/Day 1b.mp4', 'Other/Day 3.mp4', 'top.mp4'];
    assert.equal(nextInFolder('Event/Day 1.mp4', all), 'Event/Day 2.mp4');
    assert.equal(nextInFolder('Event/Day 2.mp4', all), 'Event/Day 10.mp4');
    assert.equal(nextInFolder('Event/Day 10.mp4', all), undefined);
    assert.equal(nextInFolder('top.mp4', all), undefined);
    assert.ok(naturalCompare('day 9', 'Day 10') < 0);
  });
});

describe('when a range is cut by a head of 100 bytes and a moov part at 900-949', () => {
  const head = { headLen: 100, moovOffset: 900, moovLen: 50 };
  it('runs alternate between the head file and the NAS, with head offsets after the leading bytes', () => {
    assert.deepEqual(splitByHead(0, 99, head), [{ from: 'head', start: 0, end: 99, fileStart: 0 }]);
    assert.deepEqual(splitByHead(90, 949, head), [
      { from: 'head', start: 90, end: 99, fileStart: 90 },
      { from: 'nas', start: 100, end: 899, fileStart: 100 },
      { from: 'head', start: 900, end: 949, fileStart: 100 },
    ]);
    assert.deepEqual(splitByHead(920, 999, head), [
      { from: 'head', start: 920, end: 949, fileStart: 120 },
      { from: 'nas', start: 950, end: 999, fileStart: 950 },
    ]);
    assert.deepEqual(splitByHead(100, 120, { headLen: 100, moovOffset: null, moovLen: null }), [{ from: 'nas', start: 100, end: 120, fileStart: 100 }]);
  });
});

describe('when a size setting is read', () => {
  it('decimal and binary units, and errors that name the setting', () => {
    assert.equal(parseBytes('200GB', '--cache-budget', 0), 200e9);
    assert.equal(parseBytes('500MB', '--cache-budget', 0), 500e6);
    assert.equal(parseBytes('8MiB', '--head-bytes', 0), 8 * 1024 * 1024);
    assert.equal(parseBytes('1.5TB', '--cache-budget', 0), 1.5e12);
    assert.equal(parseBytes('4096', '--head-bytes', 0), 4096);
    assert.throws(() => parseBytes('lots', '--cache-budget', 0), /--cache-budget: "lots" is not a size/);
    assert.throws(() => parseBytes('-5GB', '--cache-budget', 0), /not a size/);
    assert.throws(() => parseBytes('2GiB', '--head-bytes', 0, 1024 ** 3), /--head-bytes: 2GiB is outside/);
  });
});
