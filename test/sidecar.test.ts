/**
 * The hands sidecar (SPEC §6): all-or-nothing validation, and what the player derives from valid hands.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { parseSidecar, SidecarInvalid, validateSidecar } from '../app/library/sidecar.ts';
import { summariseHands } from '../app/model/hands.ts';
import type { Hand } from '../app/model/content.ts';
import { SAMPLE_SIDECAR } from './helpers/fixtures.ts';

const hand = (index: number, start: number, end: number, is_best = false): Hand => ({ index, start, end, is_best });

/** Asserts the text is rejected with a SidecarInvalid whose message matches. */
function rejects(text: string, duration: number | null, message: RegExp): void {
  assert.throws(
    () => parseSidecar(text, duration),
    (err: unknown) => {
      assert.ok(err instanceof SidecarInvalid, `expected SidecarInvalid, got ${String(err)}`);
      assert.match(err.message, message);
      return true;
    },
  );
}
const doc = (hands: unknown, extra: Record<string, unknown> = {}): string => JSON.stringify({ title: 'Episode', ...extra, hands });

describe('when a sidecar is valid', () => {
  it('the bundled sample parses with its title and every hand', async () => {
    const text = await readFile(SAMPLE_SIDECAR, 'utf8');
    const raw = JSON.parse(text) as { title: string; hands: Hand[] };
    const s = parseSidecar(text, 30);
    assert.equal(s.title, raw.title);
    assert.deepEqual(s.hands, raw.hands);
  });
  it('hands come back sorted by start, whatever order the file lists them in', () => {
    const s = parseSidecar(doc([hand(3, 50, 60), hand(1, 0, 10), hand(2, 20, 30, true)]), 100);
    assert.deepEqual(s.hands.map((h) => h.index), [1, 2, 3]);
  });
  it('is_best defaults to false and the title is trimmed', () => {
    const s = parseSidecar(JSON.stringify({ title: '  Day 1  ', hands: [{ index: 1, start: 1, end: 2 }] }), null);
    assert.equal(s.title, 'Day 1');
    assert.deepEqual(s.hands, [hand(1, 1, 2, false)]);
  });
  it('no title and no hands is an empty, valid sidecar', () => {
    assert.deepEqual(parseSidecar('{}', 10), { title: null, hands: [] });
    assert.deepEqual(parseSidecar('{"title": null, "hands": []}', 10), { title: null, hands: [] });
  });
  it('a hand may end where the next one starts (touching is not overlapping)', () => {
    assert.equal(parseSidecar(doc([hand(1, 0, 10), hand(2, 10, 20)]), 20).hands.length, 2);
  });
  it('an end within half a second past the duration is accepted (clock skew between logger and container)', () => {
    assert.equal(parseSidecar(doc([hand(1, 0, 30.4)]), 30).hands.length, 1);
  });
  it('with an unknown duration, no end is too late', () => {
    assert.equal(parseSidecar(doc([hand(1, 0, 1e6)]), null).hands.length, 1);
  });
  it('validateSidecar accepts an already-parsed document (the import endpoint)', () => {
    assert.deepEqual(validateSidecar({ hands: [hand(1, 5, 6, true)] }, 10).hands, [hand(1, 5, 6, true)]);
  });
});

describe('when hands overlap', () => {
  it('is rejected, naming both hands', () => {
    rejects(doc([hand(1, 0, 20), hand(2, 15, 30)]), 60, /hand 2 .*overlaps hand 1/);
  });
  it('is rejected even when listed out of order', () => {
    rejects(doc([hand(7, 40, 50), hand(8, 10, 45)]), 60, /overlaps/);
  });
  it('a hand inside another is an overlap', () => {
    rejects(doc([hand(1, 0, 100), hand(2, 10, 20)]), 200, /overlaps/);
  });
});

describe('when a hand ends before it starts', () => {
  it('an end before the start is rejected', () => rejects(doc([hand(1, 30, 10)]), 60, /hand 1 ends .*before it starts/));
  it('an end equal to the start (an empty hand) is rejected', () => rejects(doc([hand(4, 10, 10)]), 60, /hand 4 ends/));
});

describe('when a hand ends past the duration', () => {
  it('is rejected, naming the hand and the duration', () => rejects(doc([hand(1, 0, 10), hand(2, 20, 31)]), 30, /hand 2 .*past the video's 30 s/));
});

describe('when hand indexes repeat', () => {
  it('is rejected', () => rejects(doc([hand(1, 0, 10), hand(1, 20, 30)]), 60, /index 1 appears twice/));
});

describe('when the text is not JSON', () => {
  for (const text of ['', '{', 'hands: []', '{"hands": [1,]}']) {
    it(`${JSON.stringify(text)} is rejected as not JSON`, () => rejects(text, 10, /not valid JSON/));
  }
});

describe('when a field has the wrong type', () => {
  const cases: [string, string, RegExp][] = [
    ['a top-level array', '[]', /JSON object/],
    ['a top-level string', '"hands"', /JSON object/],
    ['null', 'null', /JSON object/],
    ['hands as an object', '{"hands": {"1": {}}}', /hands must be an array/],
    ['an empty title', '{"title": "  "}', /title/],
    ['a numeric title', '{"title": 5}', /title/],
    ['a title too long', JSON.stringify({ title: 'x'.repeat(301) }), /title is longer/],
    ['a hand that is a number', doc([5]), /hands\[0\] must be an object/],
    ['a hand that is an array', doc([[1, 0, 10]]), /hands\[0\] must be an object/],
    ['an index as a string', doc([{ index: '1', start: 0, end: 1 }]), /hands\[0\]\.index/],
    ['an index of 0', doc([{ index: 0, start: 0, end: 1 }]), /hands\[0\]\.index/],
    ['a fractional index', doc([{ index: 1.5, start: 0, end: 1 }]), /hands\[0\]\.index/],
    ['a start as a string', doc([{ index: 1, start: '0', end: 1 }]), /hands\[0\]\.start/],
    ['a negative start', doc([{ index: 1, start: -1, end: 1 }]), /hands\[0\]\.start/],
    ['a missing end', doc([{ index: 1, start: 0 }]), /hands\[0\]\.end/],
    ['an end as null', doc([{ index: 1, start: 0, end: null }]), /hands\[0\]\.end/],
    ['is_best as a string', doc([{ index: 1, start: 0, end: 1, is_best: 'yes' }]), /hands\[0\]\.is_best/],
    ['the bad hand is named by its position', doc([hand(1, 0, 1), hand(2, 2, 3), { index: 3, start: 'x', end: 5 }]), /hands\[2\]\.start/],
  ];
  for (const [what, text, message] of cases) it(`${what} is rejected`, () => rejects(text, 100, message));

  it('more hands than any episode has is rejected', () => {
    const many = Array.from({ length: 10_001 }, (_, i) => hand(i + 1, i, i + 0.5));
    rejects(doc(many), null, /more than/);
  });
  it('one bad hand rejects the whole sidecar, never part of it', () => {
    // The good hands before the bad one must not survive: the answer is an exception, not a shorter list.
    assert.throws(() => parseSidecar(doc([hand(1, 0, 10), hand(2, 20, 30), hand(3, 25, 40)]), 60), SidecarInvalid);
  });
});

describe('summariseHands: skip zones, best hands and action time', () => {
  it('skip zones are the gap before the first hand and the gaps between hands', () => {
    const s = summariseHands([hand(1, 2, 8), hand(2, 10, 15, true), hand(3, 18, 26)]);
    assert.deepEqual(s.skip_zones, [
      { start: 0, end: 2 },
      { start: 8, end: 10 },
      { start: 15, end: 18 },
    ]);
  });
  it('a first hand at 0 has no zone before it; touching hands have none between them', () => {
    const s = summariseHands([hand(1, 0, 5), hand(2, 5, 9), hand(3, 12, 20)]);
    assert.deepEqual(s.skip_zones, [{ start: 9, end: 12 }]);
  });
  it('no zone is added after the last hand (the tail is not dead time the player skips)', () => {
    const s = summariseHands([hand(1, 10, 20)]);
    assert.deepEqual(s.skip_zones, [{ start: 0, end: 10 }]);
  });
  it('best_hands_count counts the hands flagged best', () => {
    assert.equal(summariseHands([hand(1, 0, 1, true), hand(2, 2, 3), hand(3, 4, 5, true)]).best_hands_count, 2);
    assert.equal(summariseHands([hand(1, 0, 1)]).best_hands_count, 0);
  });
  it('action_duration is the sum of the hands’ lengths', () => {
    assert.equal(summariseHands([hand(1, 2, 8), hand(2, 10, 15), hand(3, 18, 26)]).action_duration, 6 + 5 + 8);
  });
  it('fractional seconds add up without floating-point noise', () => {
    // Summed naively, 0.1 + 0.1 + 0.1 here is 0.30000000000000004.
    const s = summariseHands([hand(1, 0.1, 0.2), hand(2, 0.3, 0.4), hand(3, 0.6, 0.7)]);
    assert.equal(s.action_duration, 0.3);
    assert.deepEqual(s.skip_zones, [
      { start: 0, end: 0.1 },
      { start: 0.2, end: 0.3 },
      { start: 0.4, end: 0.6 },
    ]);
  });
  it('no hands: no zones, nothing best, no action', () => {
    assert.deepEqual(summariseHands([]), { skip_zones: [], best_hands_count: 0, action_duration: 0 });
  });
});
