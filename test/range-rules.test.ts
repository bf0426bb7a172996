import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { isRangeFresh, parseRange, planResponse, validatorsFor } from '../app/stream/range.ts';

const v = validatorsFor(10_000, Date.UTC(2025, 11, 11, 10, 30, 0, 250));

describe('parseRange against the v1 §8.2 table (file of 10000 bytes)', () => {
  const cases: [string, number, number][] = [
    ['bytes=0-1023', 0, 1023],
    ['bytes=0-', 0, 9999],
    ['bytes=-500', 9500, 9999],
    ['bytes=5000-5999', 5000, 5999],
  ];
  for (const [header, start, end] of cases) {
    it(`${header} → ${start}-${end}`, () => assert.deepEqual(parseRange(header, 10_000), { type: 'range', start, end }));
  }
});

describe('when If-Range holds a date', () => {
  it('holds only for a date equal to Last-Modified', () => {
    assert.equal(isRangeFresh({ method: 'GET', ifRange: v.lastModified }, v), true);
    const later = new Date((v.lastModifiedSeconds + 60) * 1000).toUTCString();
    assert.equal(isRangeFresh({ method: 'GET', ifRange: later }, v), false);
  });
  it('a later date makes the whole file the answer', () => {
    const later = new Date((v.lastModifiedSeconds + 60) * 1000).toUTCString();
    const plan = planResponse({ method: 'GET', range: 'bytes=0-9', ifRange: later }, v);
    assert.equal(plan.kind, 'full');
  });
});
