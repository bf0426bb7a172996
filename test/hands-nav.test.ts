/**
 * The rules a viewer moves through hands by: skip zones, action time, next and previous hand, the jump
 * of each mode, resume at the start of the hand left, and the best-hands reel across an event.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { validateSidecar } from '../app/library/sidecar.ts';
import type { Hand } from '../app/model/content.ts';
import { bestHandsReel, handAt, jumpTarget, nextHand, previousHand, reelResumeIndex, resumePosition, summariseHands } from '../app/model/hands.ts';

const h = (index: number, start: number, end: number, is_best = false): Hand => ({ index, start, end, is_best });

describe('when a video has no hands', () => {
  it('everything is a no-op: no zones, no action, no next, resume where the viewer was', () => {
    assert.deepEqual(summariseHands([]), { skip_zones: [], best_hands_count: 0, action_duration: 0 });
    assert.equal(nextHand([], 0), undefined);
    assert.equal(previousHand([], 100), undefined);
    assert.equal(jumpTarget([], 5, 'skip'), undefined);
    assert.equal(resumePosition([], 42.5), 42.5);
  });
});

describe('when a hand starts at 0', () => {
  const hands = [h(1, 0, 10), h(2, 20, 30, true)];
  it('there is no dead time before it, and resume inside it goes back to 0', () => {
    assert.deepEqual(summariseHands(hands).skip_zones, [{ start: 10, end: 20 }]);
    assert.equal(resumePosition(hands, 7), 0);
    assert.equal(handAt(hands, 0)?.index, 1);
  });
});

describe('when hands touch (one ends where the next starts)', () => {
  const hands = [h(1, 5, 10), h(2, 10, 15), h(3, 15, 20, true)];
  it('there is no skip zone between them and the boundary belongs to the later hand', () => {
    assert.deepEqual(summariseHands(hands), { skip_zones: [{ start: 0, end: 5 }], best_hands_count: 1, action_duration: 15 });
    assert.equal(handAt(hands, 10)?.index, 2);
    assert.equal(jumpTarget(hands, 12, 'skip'), undefined, 'inside a hand, skip mode stays');
    assert.equal(jumpTarget(hands, 12, 'best'), 15, 'best mode leaves a hand that is not best');
  });
});

describe('when hands arrive unsorted', () => {
  const hands = [h(3, 50, 60, true), h(1, 0, 10), h(2, 20, 30)];
  it('every rule reads them in time order', () => {
    assert.deepEqual(summariseHands(hands).skip_zones, [{ start: 10, end: 20 }, { start: 30, end: 50 }]);
    assert.equal(nextHand(hands, 5)?.index, 2);
    assert.equal(nextHand(hands, 5, true)?.index, 3);
    assert.equal(previousHand(hands, 55)?.index, 3, 'more than 3 s into hand 3: back to its start');
    assert.equal(previousHand(hands, 51)?.index, 2, 'within 3 s of its start: the hand before');
    assert.equal(resumePosition(hands, 40), 50, 'from dead time: the start of the next hand');
    assert.equal(resumePosition(hands, 25), 20);
    assert.equal(resumePosition(hands, 70), 70, 'past the last hand: where the viewer was');
    assert.equal(jumpTarget(hands, 12, 'skip'), 20);
    assert.equal(jumpTarget(hands, 65, 'skip'), undefined, 'no hand ahead: stay');
  });
});

describe('when a hand ends past the video', () => {
  it('the hands are rejected whole, naming the hand', () => {
    assert.throws(() => validateSidecar({ hands: [h(1, 0, 10), h(2, 50, 121)] }, 120), /hand 2 ends at 121 s, past the video's 120 s/);
  });
});

describe('when the best hands of an event are played as a reel', () => {
  const videos = [
    { contentId: 'd10', relPath: 'Main/Day 10.mp4', hands: [h(1, 5, 9, true)] },
    { contentId: 'd2', relPath: 'Main/Day 2.mp4', hands: [h(2, 40, 50, true), h(1, 10, 20, true), h(3, 60, 70)] },
    { contentId: 'd1', relPath: 'Main/Day 1.mp4', hands: [h(1, 0, 4), h(2, 30, 35, true)] },
  ];
  it('it runs video by video in natural order (Day 10 last), best hands only, each video by start', () => {
    const reel = bestHandsReel(videos);
    assert.deepEqual(
      reel.map((s) => `${s.contentId}#${s.hand.index}`),
      ['d1#2', 'd2#1', 'd2#2', 'd10#1'],
    );
  });
  it('it resumes at the stop being watched, or the next video’s first stop once a video’s stops are past', () => {
    const reel = bestHandsReel(videos);
    assert.equal(reelResumeIndex(reel, 'd2', 15), 1);
    assert.equal(reelResumeIndex(reel, 'd2', 45), 2);
    assert.equal(reelResumeIndex(reel, 'd2', 65), 3);
    assert.equal(reelResumeIndex(reel, 'd10', 100), -1, 'past the end of the reel');
    assert.equal(reelResumeIndex(reel, 'elsewhere', 0), 0);
    assert.equal(reelResumeIndex([], 'd1', 0), -1);
  });
});
