// The watch page: the <video> player with its session (heartbeats, /end on leaving), hands as
// navigation (keys, a hand list, the timeline, skip and best-only modes, a way back after a jump), a
// spoiler-safe timeline, resume at the start of the hand left, and the best-hands reel of an event.
// The rules of hands are the shared pure functions of app/model/hands.ts; this file only wires them.
import { useEffect, useRef, useState } from 'preact/hooks';
import { HEARTBEAT_SECONDS, type Hand, type StartResponse, type StreamInfoWire } from '../../app/contract/index.ts';
import { bestHandsReel, handAt, nextHand, previousHand, jumpTarget, reelResumeIndex, resumePosition, sortHands, type HandMode, type ReelStop } from '../../app/model/hands.ts';
import { api, ApiError, dropHeadStart, takeHeadStartVideo } from '../api/client.ts';
import { clock, messageOf } from './format.ts';
import { t } from './i18n.ts';
import { navigate, watchUrl } from './router.ts';

const HEARTBEAT_MS = HEARTBEAT_SECONDS * 1000;
const SPOILER_KEY = 'wsoptv.spoilerSafe';
/** How many jumps Backspace / U can undo. */
const UNDO_DEPTH = 50;
/** A saved position this close to either end starts the video from its beginning instead. */
const RESUME_EDGE_S = 5;

/** The best-hands reel of an event: its stops, and the one this page plays first. */
interface ReelPlan {
  readonly stops: readonly ReelStop[];
  readonly first: number;
  readonly titles: ReadonlyMap<string, string>;
}

/** Everything the player needs once the session is open. */
interface Setup {
  readonly info: StreamInfoWire;
  readonly session: StartResponse;
  readonly hands: readonly Hand[];
  readonly startAt: number;
  readonly reel: ReelPlan | null;
}

function loadSpoilerSafe(): boolean {
  try {
    return localStorage.getItem(SPOILER_KEY) !== '0';
  } catch {
    return true;
  }
}

function saveSpoilerSafe(on: boolean): void {
  try {
    localStorage.setItem(SPOILER_KEY, on ? '1' : '0');
  } catch {
    // Not remembered; the switch still holds on this page.
  }
}

const reelStopOf = (state: unknown): number | null => {
  const v = (state as { reelStop?: unknown } | null)?.reelStop;
  return typeof v === 'number' && Number.isInteger(v) && v >= 0 ? v : null;
};

/**
 * The reel of the folder `id` lies in: every best hand of its videos in the folder's natural order (the
 * catalogue lists them so). It resumes where the viewer last was in any video of the event.
 */
async function planReel(id: string): Promise<ReelPlan> {
  const { items } = await api.contents();
  const here = items.find((c) => c.id === id);
  const videos = here ? items.filter((c) => c.event_id === here.event_id && c.best_hands_count > 0 && c.playable) : [];
  const infos = await Promise.all(videos.map((c) => api.info(c.id)));
  // The catalogue's order is already the folder's natural order: its position is the reel's sort key.
  const stops = bestHandsReel(infos.map((info, i) => ({ contentId: info.content_id, relPath: String(i), hands: info.hands })));
  const titles = new Map(videos.map((c) => [c.id, c.title]));
  const asked = reelStopOf(history.state);
  if (asked !== null && stops[asked]) return { stops, first: asked, titles };
  const seen = (await api.allProgress()).items
    .filter((p) => titles.has(p.content_id) && p.updated_at)
    .sort((a, b) => (b.updated_at ?? '').localeCompare(a.updated_at ?? ''))[0];
  const resume = seen ? reelResumeIndex(stops, seen.content_id, seen.position) : 0;
  return { stops, first: resume < 0 ? 0 : resume, titles };
}

/** Where a video starts: the start of the hand the viewer left (never mid-hand), else the beginning. */
function startPosition(hands: readonly Hand[], saved: number | null, duration: number | null): number {
  if (saved === null || saved <= 1 || (duration !== null && saved >= duration - RESUME_EDGE_S)) return 0;
  return resumePosition(hands, saved);
}

/** Opens the session (and, for a reel, plans it); a reel that resumes in another video moves there first. */
async function open(id: string, reel: boolean): Promise<Setup | 'moved'> {
  const plan = reel ? await planReel(id) : null;
  const stop = plan?.stops[plan.first];
  if (stop && stop.contentId !== id) {
    navigate(watchUrl(stop.contentId, true), { replace: true, state: { reelStop: plan!.first } });
    return 'moved';
  }
  // The three answers do not depend on one another: asked at once, the page waits one round trip, not three.
  const asking = { info: api.info(id), session: api.start(id) };
  const savedP = plan ? Promise.resolve(null) : api.progress(id).then((p) => p.position, () => null);
  let info: StreamInfoWire;
  try {
    info = await asking.info;
  } catch (err) {
    // The video's own failure is the one to show; a session opened meanwhile is given back at once.
    asking.session.then((s) => api.endOnLeave(id, s.session_id, 0), () => undefined);
    throw err;
  }
  const session = await asking.session;
  const hands = sortHands(info.hands);
  const saved = await savedP;
  const startAt = stop ? stop.hand.start : startPosition(hands, saved, info.duration_seconds);
  return { info, session, hands, startAt, reel: plan };
}

/** Seconds the player holds beyond the playhead. */
function bufferedAhead(video: HTMLVideoElement): number {
  const now = video.currentTime;
  for (let i = 0; i < video.buffered.length; i++) {
    if (now >= video.buffered.start(i) && now <= video.buffered.end(i)) return Math.round((video.buffered.end(i) - now) * 10) / 10;
  }
  return 0;
}

/** Keys typed into a text field are the field's, not the player's. */
function isTyping(target: EventTarget | null): boolean {
  if (!(target instanceof HTMLElement)) return false;
  if (target.isContentEditable || target instanceof HTMLTextAreaElement || target instanceof HTMLSelectElement) return true;
  return target instanceof HTMLInputElement && !['checkbox', 'radio', 'button', 'submit'].includes(target.type);
}

/** What the page's controls do; built once the player is wired, called by buttons and keys alike. */
interface Actions {
  next(): void;
  previous(): void;
  jumpTo(seconds: number): void;
  back(): void;
  setMode(mode: HandMode): void;
}

const NO_ACTIONS: Actions = { next() {}, previous() {}, jumpTo() {}, back() {}, setMode() {} };

/** The watch page of one video (or of the reel passing through it). */
export function Watch({ id, reel }: { readonly id: string; readonly reel: boolean }) {
  const slotRef = useRef<HTMLDivElement>(null);
  const [setup, setSetup] = useState<Setup | null>(null);
  const [error, setError] = useState('');
  const [notice, setNotice] = useState('');
  const [now, setNow] = useState(0);
  const [mode, setModeState] = useState<HandMode>(reel ? 'best' : 'all');
  const [spoilerSafe, setSpoilerSafe] = useState(loadSpoilerSafe);
  const [stop, setStop] = useState(-1);
  const [refused, setRefused] = useState(false);
  const [attempt, setAttempt] = useState(0);
  const actions = useRef<Actions>(NO_ACTIONS);

  useEffect(() => {
    let cancelled = false;
    open(id, reel).then(
      (s) => {
        if (s === 'moved') return;
        if (cancelled) api.endOnLeave(id, s.session.session_id, 0);
        else setSetup(s);
      },
      (err: unknown) => {
        dropHeadStart();
        if (cancelled) return;
        setError(messageOf(err));
        setRefused(err instanceof ApiError && err.status === 429);
      },
    );
    return () => {
      cancelled = true;
    };
  }, [attempt]);

  useEffect(() => {
    const slot = slotRef.current;
    if (!setup || !slot) return undefined;
    const { session, hands, reel: plan } = setup;
    // On a cold load the head start made the element and it is already loading; else it is made here.
    const adopted = takeHeadStartVideo(session.stream_url);
    const video = adopted ?? document.createElement('video');
    video.controls = true;
    video.autoplay = true;
    video.preload = 'auto';
    video.playsInline = true;
    video.dataset['sessionId'] = session.session_id;
    video.hidden = false;
    slot.replaceChildren(video);
    let currentMode: HandMode = plan ? 'best' : 'all';
    let currentStop = plan ? plan.first : -1;
    let started = false;
    /** The session is over: ended by the server, or /end sent. */
    let ended = false;
    /** The reel is moving on to another video's page: this one only waits to be closed. */
    let moving = false;
    const undo: number[] = [];

    const seekTo = (seconds: number): void => {
      video.currentTime = Math.max(0, seconds);
    };
    const jumpTo = (seconds: number): void => {
      undo.push(video.currentTime);
      if (undo.length > UNDO_DEPTH) undo.shift();
      setNotice('');
      seekTo(seconds);
    };
    const setMode = (m: HandMode): void => {
      if (plan) return; // the reel is best hands by definition
      currentMode = m;
      setModeState(m);
      setNotice('');
    };
    /** Plays reel stop `i`: here, or on the page of the video it lies in. */
    const goToStop = (i: number): void => {
      const s = plan?.stops[i];
      if (!plan || !s) {
        video.pause();
        setNotice(t('reelEnd'));
        return;
      }
      if (s.contentId !== id) {
        moving = true;
        navigate(watchUrl(s.contentId, true), { state: { reelStop: i } });
        return;
      }
      currentStop = i;
      setStop(i);
      jumpTo(s.hand.start);
    };
    /** In the reel, the playhead always lies in a stop: past one, the next. */
    const followReel = (at: number): void => {
      if (!plan) return;
      const mine = plan.stops.map((s, i) => ({ s, i })).filter(({ s }) => s.contentId === id);
      const inside = mine.find(({ s }) => at >= s.hand.start && at < s.hand.end);
      if (inside) {
        if (inside.i !== currentStop) {
          currentStop = inside.i;
          setStop(inside.i);
        }
        return;
      }
      const ahead = mine.find(({ s }) => s.hand.start > at);
      const last = mine[mine.length - 1];
      goToStop(ahead ? ahead.i : last ? last.i + 1 : currentStop + 1);
    };
    const followMode = (at: number): void => {
      const to = jumpTarget(hands, at, currentMode);
      if (to !== undefined) return seekTo(to);
      // Past the last best hand, best-only has nothing left to play: stop there, and a press of play goes on
      // through the rest of the video.
      if (currentMode === 'best' && !handAt(hands, at)?.is_best) {
        video.pause();
        setMode('all');
        setNotice(t('noMoreBest'));
      }
    };

    actions.current = {
      next() {
        if (plan) return goToStop(currentStop + 1);
        const n = nextHand(hands, video.currentTime, currentMode === 'best');
        if (n) jumpTo(n.start);
        else setNotice(currentMode === 'best' ? t('noMoreBest') : t('noHands'));
      },
      previous() {
        if (plan) return goToStop(Math.max(0, currentStop - 1));
        const p = previousHand(currentMode === 'best' ? hands.filter((h) => h.is_best) : hands, video.currentTime);
        jumpTo(p ? p.start : 0);
      },
      jumpTo,
      back() {
        const to = undo.pop();
        if (to === undefined) return;
        seekTo(to);
        setNotice(t('jumpedBack', { t: clock(to) }));
      },
      setMode,
    };

    // What the viewer experienced, reported with each heartbeat.
    const qoe: { ttff_ms?: number; stall_count: number; stall_ms: number; seek_ms?: number } = { stall_count: 0, stall_ms: 0 };
    const t0 = performance.now();
    let stallStart = 0;
    let seekStart = 0;

    const stopPlaying = (message: string): void => {
      ended = true;
      clearInterval(timer);
      video.pause();
      video.removeAttribute('src');
      video.load();
      setError(message);
    };
    const beat = async (): Promise<void> => {
      if (ended) return;
      try {
        await api.heartbeat(id, {
          session_id: session.session_id,
          position: video.currentTime || 0,
          state: video.paused ? 'paused' : 'playing',
          qoe: { ...qoe, stall_ms: Math.round(qoe.stall_ms), buffer_ahead_s: bufferedAhead(video) },
          mode: currentMode,
        });
      } catch (err) {
        if (err instanceof ApiError && (err.status === 410 || err.status === 404)) stopPlaying(err.message);
      }
    };
    /** The element says only "error": ask the session, then the stream itself, which one it was. */
    const explain = async (): Promise<void> => {
      await beat();
      if (ended) return;
      try {
        await api.probeStream(session.stream_url);
        setError(t('playFailed'));
      } catch (err) {
        setError(messageOf(err));
      }
    };

    // timeupdate comes about 4 times a second, later on a busy machine; a timer set for the end of the hand
    // playing makes the jump out of it on time.
    let edge: ReturnType<typeof setTimeout> | undefined;
    const follow = (): void => {
      clearTimeout(edge);
      if (!started || video.seeking || ended || moving) return;
      const at = video.currentTime;
      if (plan) followReel(at);
      else followMode(at);
      const here = handAt(hands, video.currentTime);
      if ((plan || currentMode !== 'all') && here && !video.paused && video.playbackRate > 0) {
        edge = setTimeout(follow, ((here.end - video.currentTime) * 1000) / video.playbackRate + 10);
      }
    };

    const onMetadata = (): void => {
      if (setup.startAt > 0) seekTo(setup.startAt);
      else started = true;
    };
    const listeners: [string, EventListener][] = [
      ['loadedmetadata', onMetadata],
      ['seeked', () => {
        started = true;
        if (seekStart) qoe.seek_ms = Math.round(performance.now() - seekStart);
      }],
      ['seeking', () => {
        seekStart = performance.now();
      }],
      ['playing', () => {
        if (qoe.ttff_ms === undefined) qoe.ttff_ms = Math.round(performance.now() - t0);
        if (stallStart) {
          qoe.stall_ms += performance.now() - stallStart;
          stallStart = 0;
        }
      }],
      ['waiting', () => {
        if (qoe.ttff_ms !== undefined && !video.seeking) {
          qoe.stall_count++;
          stallStart = performance.now();
        }
      }],
      ['timeupdate', () => {
        setNow(video.currentTime);
        follow();
      }],
      ['ended', () => {
        if (plan && !ended && !moving) followReel(video.duration);
      }],
      ['error', () => {
        if (!ended) void explain();
      }],
    ];
    for (const [name, fn] of listeners) video.addEventListener(name, fn);

    const onKey = (e: KeyboardEvent): void => {
      if (e.ctrlKey || e.metaKey || e.altKey || isTyping(e.target)) return;
      const a = actions.current;
      switch (e.key.toLowerCase()) {
        case 'n': a.next(); break;
        case 'p': a.previous(); break;
        case 'b': a.setMode(currentMode === 'best' ? 'all' : 'best'); break;
        case 's': a.setMode(currentMode === 'skip' ? 'all' : 'skip'); break;
        case 'u':
        case 'backspace': a.back(); break;
        default: return;
      }
      e.preventDefault();
    };
    window.addEventListener('keydown', onKey);

    const timer = setInterval(() => void beat(), HEARTBEAT_MS);
    const leave = (): void => {
      if (ended) return;
      ended = true;
      clearInterval(timer);
      api.endOnLeave(id, session.session_id, video.currentTime || 0);
    };
    window.addEventListener('pagehide', leave);
    if (plan) setStop(plan.first);
    if (!adopted) video.src = session.stream_url;
    else if (adopted.error) void explain();
    else {
      // What the listeners missed while the element loaded on its own: the metadata, and the start.
      if (adopted.readyState >= HTMLMediaElement.HAVE_METADATA) onMetadata();
      video.play().catch(() => undefined); // refused without a gesture where autoplay is: as the attribute
    }

    return () => {
      clearTimeout(edge);
      window.removeEventListener('keydown', onKey);
      window.removeEventListener('pagehide', leave);
      for (const [name, fn] of listeners) video.removeEventListener(name, fn);
      actions.current = NO_ACTIONS;
      // Leaving the page, or the reel going on to another video, ends this session.
      leave();
      video.removeAttribute('src');
      video.load();
      video.remove();
    };
  }, [setup]);

  const back = <p><a id="back" href="/">{t('back')}</a></p>;
  if (!setup) {
    return (
      <div class="watch">
        {back}
        {error ? <p class="error-message" role="alert">{error}</p> : <p class="muted">{t('starting')}</p>}
        {refused && (
          <p class="muted">
            {t('limitHint')}{' '}
            <button id="retry" onClick={() => { setError(''); setRefused(false); setAttempt((n) => n + 1); }}>{t('tryAgain')}</button>
          </p>
        )}
      </div>
    );
  }

  const { info, hands, reel: plan, session } = setup;
  const duration = info.duration_seconds || 0;
  // Spoiler-safe: ahead of the playhead nothing of the hands shows (not their flags, not how many are left),
  // except where the viewer asked for best hands, which are then the point.
  const hideAhead = spoilerSafe && mode !== 'best' && !plan;
  const shown = hideAhead ? hands.filter((h) => h.start <= now) : hands;
  const current = handAt(hands, now) ?? [...hands].reverse().find((h) => h.start <= now);
  const bestSeen = hands.filter((h) => h.is_best && h.start <= now).length;
  const a = (): Actions => actions.current;
  const pct = (s: number): string => `${duration ? (s / duration) * 100 : 0}%`;
  const reelStop = plan?.stops[stop];

  const summary = hideAhead
    ? [current ? t('handN', { n: current.index }) : t('beforeFirstHand'), t('bestSoFar', { n: bestSeen })]
    : [current ? t('handOf', { n: current.index, total: hands.length }) : t('beforeFirstHand'), t('bestTotal', { n: info.best_hands_count }), t('actionTotal', { t: clock(info.action_duration) })];

  return (
    <div class="watch">
      {back}
      <h2>{info.title}</h2>
      {plan && (
        <p id="reel-status" class="muted">
          {plan.stops.length === 0 ? t('reelEmpty') : reelStop ? `${t('reelStop', { n: stop + 1, total: plan.stops.length })} · ${plan.titles.get(reelStop.contentId) ?? ''}` : ''}
        </p>
      )}
      {error && <p class="error-message" role="alert">{error}</p>}
      {notice && <p class="notice" role="status">{notice}</p>}
      <div class="stage">
        <div class="player">
          <div class="video-slot" ref={slotRef} />
          <div
            id="timeline"
            class="timeline"
            title={t('hands')}
            onClick={(e) => {
              const r = (e.currentTarget as HTMLElement).getBoundingClientRect();
              a().jumpTo(((e.clientX - r.left) / r.width) * duration);
            }}
          >
            {shown.map((h) => (
              <div
                key={h.index}
                class={'hand' + (h.is_best ? ' best' : '')}
                data-hand-index={h.index}
                style={{ left: pct(h.start), width: pct(h.end - h.start) }}
                title={`${t('handN', { n: h.index })} (${clock(h.start)}-${clock(h.end)})`}
                onClick={(e) => {
                  e.stopPropagation();
                  a().jumpTo(h.start);
                }}
              />
            ))}
            <div class="playhead" style={{ left: pct(now) }} />
          </div>
          <div class="controls">
            <button id="prev-hand" onClick={() => a().previous()}>{t('prevHand')}</button>
            <button id="next-hand" onClick={() => a().next()}>{t('nextHand')}</button>
            {([['all', t('modeAll')], ['skip', t('modeSkip')], ['best', t('modeBest')]] as const).map(([m, label]) => (
              <button data-mode={m} aria-pressed={mode === m ? 'true' : 'false'} disabled={!!plan} onClick={() => a().setMode(m)}>{label}</button>
            ))}
            <label class="switch">
              <input
                type="checkbox"
                id="spoiler-safe"
                checked={spoilerSafe}
                disabled={!!plan}
                onChange={(e) => {
                  const on = (e.currentTarget as HTMLInputElement).checked;
                  setSpoilerSafe(on);
                  saveSpoilerSafe(on);
                }}
              />
              {t('spoilerSafe')}
            </label>
            <span id="hand-summary" class="muted">{summary.join(' · ')}</span>
          </div>
          <p class="muted keys">{t('keysHelp')}</p>
        </div>
        <aside class="hands-panel">
          <h3>{t('hands')}</h3>
          {hands.length === 0 && <p class="muted">{t('noHands')}</p>}
          {hideAhead && hands.length > 0 && <p class="muted">{t('spoilerHint')}</p>}
          <ol id="hand-list">
            {shown.map((h) => (
              <li key={h.index} data-hand-index={h.index} aria-current={current === h ? 'true' : undefined} class={h.is_best ? 'best' : undefined}>
                <button onClick={() => a().jumpTo(h.start)}>
                  <span class="index">#{h.index}</span>
                  <span>{clock(h.start)}</span>
                  <span class="muted">{clock(h.end - h.start)}</span>
                  {h.is_best && <span class="best-badge">★ {t('best')}</span>}
                </button>
              </li>
            ))}
          </ol>
        </aside>
      </div>
    </div>
  );
}
