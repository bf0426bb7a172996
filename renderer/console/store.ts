// The console's live state: built from the feed's snapshot, then kept current by its deltas.
import type { ActiveStreamWire, CachePromotionWire, ConsoleEvents, MetricSampleWire, MetricsWire, SlotsWire } from '../../app/contract/index.ts';
import { METRICS_HISTORY_SECONDS, METRICS_TICK_SECONDS } from '../../app/contract/index.ts';

/** What the pages draw from. */
export interface LiveState {
  readonly connected: boolean;
  readonly loaded: boolean;
  readonly streams: readonly ActiveStreamWire[];
  readonly slots: SlotsWire | null;
  readonly metrics: MetricsWire | null;
  readonly history: readonly MetricSampleWire[];
  readonly pendingUsers: number;
  /** Bumped on every account event, so the Users page reloads. */
  readonly usersVersion: number;
  readonly promotions: readonly CachePromotionWire[];
  /** The last stream errors, newest first. */
  readonly errors: readonly ConsoleEvents['stream.error'][];
}

/** Before the snapshot. */
export const INITIAL: LiveState = {
  connected: false,
  loaded: false,
  streams: [],
  slots: null,
  metrics: null,
  history: [],
  pendingUsers: 0,
  usersVersion: 0,
  promotions: [],
  errors: [],
};

/** One thing that happened to the state. */
export type Action = { readonly type: 'connection'; readonly open: boolean } | { [K in keyof ConsoleEvents]: { readonly type: K; readonly data: ConsoleEvents[K] } }[keyof ConsoleEvents];

const HISTORY_MAX = METRICS_HISTORY_SECONDS / METRICS_TICK_SECONDS;

/** The slots with one session given back, so the meters follow an end at once rather than at the next tick. */
function releaseSlot(slots: SlotsWire | null, sessionId: string): SlotsWire | null {
  if (!slots || !slots.users.some((u) => u.sessions.some((x) => x.session_id === sessionId))) return slots;
  const users = slots.users
    .map((u) => {
      const sessions = u.sessions.filter((x) => x.session_id !== sessionId);
      return { ...u, sessions, used: sessions.length };
    })
    .filter((u) => u.used > 0);
  return { ...slots, users, server: { ...slots.server, used: slots.server.used - 1 } };
}

/** The slots with a new stream's slot taken. */
function takeSlot(slots: SlotsWire | null, s: ActiveStreamWire): SlotsWire | null {
  if (!slots) return slots;
  const entry = { session_id: s.session_id, title: s.content.title, state: s.state, paused_seconds: null };
  const mine = slots.users.find((u) => u.user_id === s.user.id);
  const users = mine
    ? slots.users.map((u) => (u === mine ? { ...u, used: u.used + 1, sessions: [...u.sessions, entry] } : u))
    : [...slots.users, { user_id: s.user.id, username: s.user.username, used: 1, sessions: [entry] }];
  return { ...slots, users, server: { ...slots.server, used: slots.server.used + 1 } };
}

/** Applies one event. */
export function reduce(s: LiveState, a: Action): LiveState {
  switch (a.type) {
    case 'connection':
      return { ...s, connected: a.open };
    case 'snapshot':
      return { ...s, loaded: true, streams: a.data.streams, slots: a.data.slots, metrics: a.data.metrics, history: a.data.history, pendingUsers: a.data.pending_users };
    case 'stream.started': {
      const stream = a.data.stream;
      if (!stream || s.streams.some((x) => x.session_id === stream.session_id)) return s;
      return { ...s, streams: [stream, ...s.streams], slots: takeSlot(s.slots, stream) };
    }
    case 'stream.ended':
      return { ...s, streams: s.streams.filter((x) => x.session_id !== a.data.session_id), slots: releaseSlot(s.slots, a.data.session_id) };
    case 'stream.error':
      return { ...s, errors: [a.data, ...s.errors].slice(0, 20) };
    case 'stream.refused':
      return s.slots ? { ...s, slots: { ...s.slots, refused: [a.data, ...s.slots.refused].slice(0, 20) } } : s;
    case 'streams.tick':
      return { ...s, streams: a.data.streams, slots: a.data.slots };
    case 'metrics.tick':
      return { ...s, metrics: a.data.metrics, history: [...s.history, a.data.sample].slice(-HISTORY_MAX) };
    case 'user.registered':
      return { ...s, usersVersion: s.usersVersion + 1, pendingUsers: s.pendingUsers + (a.data.user.status === 'pending' ? 1 : 0) };
    case 'user.changed':
      return { ...s, usersVersion: s.usersVersion + 1, pendingUsers: a.data.pending_users };
    case 'cache.promotion':
      return { ...s, promotions: [a.data, ...s.promotions.filter((p) => p.content_id !== a.data.content_id)].slice(0, 50) };
  }
}
