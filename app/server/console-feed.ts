/**
 * The console's live feed behind `GET /api/admin/events`: the stream events of the bus, refused starts,
 * account changes and cache promotions as they happen, the active streams every 2 s and a metrics sample
 * every 5 s (kept for an hour in a ring, so a reopened console draws its charts at once).
 *
 *   bus event ─► view (sync) ─► frame "id/event/data", serialised once ─► log ring (for resume)
 *                                                                      └─► each client's bounded queue ─► socket
 *
 * A console connecting afresh gets a `snapshot`; one reconnecting with a Last-Event-ID still in the log
 * gets exactly the frames after it. Nothing here awaits a client: the bus is never held up by a console.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Logger } from 'pino';
import type { Auth } from '../auth/index.ts';
import { METRICS_HISTORY_SECONDS, METRICS_TICK_SECONDS, SSE_KEEPALIVE_SECONDS, STREAMS_TICK_SECONDS } from '../contract/constants.ts';
import type { ConsoleEventName, ConsoleEvents, ConsoleSnapshot } from '../contract/events.ts';
import type { ActiveStreamWire, MetricSampleWire, RefusalWire, SlotsWire } from '../contract/wire.ts';
import type { Library } from '../library/index.ts';
import type { Clock } from '../model/clock.ts';
import type { Role, UserStatus } from '../model/user.ts';
import type { Streams } from '../stream/index.ts';
import { userView } from './routes/auth.ts';
import { SseClient, type SseLimits } from './sse.ts';
import { activeStreamViews, slotsView, titleOf } from './views.ts';

/** What tests may tune. */
export interface FeedOptions extends Partial<SseLimits> {
  /** Frames kept for Last-Event-ID resume. */
  readonly logSize?: number;
  readonly streamsTickMs?: number;
  readonly metricsTickMs?: number;
}

/** What the feed is built from. */
export interface FeedDeps {
  readonly streams: Streams;
  readonly auth: Auth;
  readonly library: Library;
  readonly limits: { readonly server: number; readonly perUser: number };
  readonly clock: Clock;
  readonly log: Logger;
  readonly options?: FeedOptions;
}

/** The live feed. */
export interface ConsoleFeed {
  /** Serves the feed on an SSE response, resuming after the request's Last-Event-ID when it can. */
  connect(req: IncomingMessage, res: ServerResponse): void;
  /** Looks for new and changed accounts (after a change here or by the users tool) and announces them. */
  usersChanged(): void;
  /** Announces an event from another module (the cache tier's promotions). */
  publish<K extends Exclude<ConsoleEventName, 'snapshot'>>(name: K, data: ConsoleEvents[K]): void;
  /** The metric samples of the last hour, oldest first. */
  history(): MetricSampleWire[];
  /** Connected consoles, with what waits in their queues. */
  clients(): { readonly queued: number; readonly dropped: number }[];
  /** Ends every connection and stops the timers. */
  close(): void;
}

const REFUSALS_KEPT = 20;
/** Ticks are superseded by the next one, so a slow console may lose the oldest. */
const DROPPABLE: ReadonlySet<ConsoleEventName> = new Set(['streams.tick', 'metrics.tick']);

/** Builds the feed and starts sampling. */
export function createConsoleFeed(deps: FeedDeps): ConsoleFeed {
  const { streams, auth, library, clock, log } = deps;
  const o = deps.options ?? {};
  const limits: SseLimits = {
    queueLimit: o.queueLimit ?? 256,
    writeTimeoutMs: o.writeTimeoutMs ?? 10_000,
    keepAliveMs: o.keepAliveMs ?? SSE_KEEPALIVE_SECONDS * 1000,
  };
  const logSize = o.logSize ?? 2048;
  const historySize = METRICS_HISTORY_SECONDS / METRICS_TICK_SECONDS;
  // Ids name this process, so a console that outlived a restart gets a snapshot rather than a wrong resume.
  const boot = clock().toString(36);
  let seq = 0;
  const frames: { seq: number; text: string }[] = [];
  const clients = new Set<SseClient>();
  const samples: MetricSampleWire[] = [];
  const refused: RefusalWire[] = [];
  let errorsSinceSample = 0;
  const known = new Map<string, { status: UserStatus; role: Role }>(auth.listUsers().map((u) => [u.id, { status: u.status, role: u.role }]));

  const publish = <K extends ConsoleEventName>(name: K, data: ConsoleEvents[K]): void => {
    seq++;
    const text = `id: ${boot}-${seq}\nevent: ${name}\ndata: ${JSON.stringify(data)}\n\n`;
    frames.push({ seq, text });
    if (frames.length > logSize) frames.shift();
    const droppable = DROPPABLE.has(name);
    for (const c of clients) c.send(text, droppable);
  };

  const streamViews = (): ActiveStreamWire[] => activeStreamViews(streams.activeSessions(), auth, library);
  const slots = (views: readonly ActiveStreamWire[]): SlotsWire => slotsView(views, deps.limits, clock(), [...refused]);
  const pendingUsers = (): number => auth.listUsers().filter((u) => u.status === 'pending').length;

  streams.bus.on('stream.started', (e) => {
    const s = streams.activeSessions().find((x) => x.sessionId === e.session_id);
    publish('stream.started', { ...e, stream: s ? activeStreamViews([s], auth, library)[0]! : null });
  });
  streams.bus.on('stream.ended', (e) => publish('stream.ended', e));
  // Whole copies only: heads of the whole library are copied at start-up and would drown the feed.
  streams.bus.on('cache.promoted', (e) => {
    if (e.kind === 'copy') publish('cache.promotion', { content_id: e.content_id, state: 'done', progress: 1, timestamp: e.timestamp });
  });
  streams.bus.on('stream.error', (e) => {
    errorsSinceSample++;
    publish('stream.error', e);
  });
  streams.bus.on('stream.refused', (e) => {
    const r: RefusalWire = {
      at: e.timestamp,
      user_id: e.user_id,
      username: auth.getUser(e.user_id)?.username ?? null,
      content_id: e.content_id,
      title: titleOf(library, e.content_id),
      scope: e.scope,
      current: e.current,
      limit: e.limit,
    };
    refused.unshift(r);
    if (refused.length > REFUSALS_KEPT) refused.pop();
    publish('stream.refused', r);
  });

  const usersChanged = (): void => {
    const users = auth.listUsers();
    const pending = users.filter((u) => u.status === 'pending').length;
    for (const u of users) {
      const before = known.get(u.id);
      known.set(u.id, { status: u.status, role: u.role });
      if (!before) publish('user.registered', { user: userView(u) });
      else if (before.status !== u.status || before.role !== u.role) publish('user.changed', { user: userView(u), pending_users: pending });
    }
  };

  const sample = (): void => {
    const active = streams.activeSessions();
    const byUser = new Map<string, number>();
    let total = 0;
    for (const s of active) {
      const bps = Math.round(s.bytesPerSecond * 8);
      byUser.set(s.userId, (byUser.get(s.userId) ?? 0) + bps);
      total += bps;
    }
    const perUser: Record<string, number> = {};
    for (const [id, bps] of byUser) perUser[auth.getUser(id)?.username ?? id] = bps;
    const metrics = streams.getStreamMetrics();
    const point: MetricSampleWire = {
      t: new Date(clock()).toISOString(),
      active_streams: active.length,
      bandwidth_bps: total,
      per_user_bps: perUser,
      cache_hit_rate: metrics.cache_hit_rate,
      errors: errorsSinceSample,
    };
    errorsSinceSample = 0;
    samples.push(point);
    if (samples.length > historySize) samples.shift();
    publish('metrics.tick', { sample: point, metrics });
  };

  const guarded = (what: string, fn: () => void) => () => {
    try {
      fn();
    } catch (err) {
      log.error({ err, action: 'console_feed_failed', what }, 'console feed tick failed');
    }
  };
  const metricsTimer = setInterval(
    guarded('metrics', () => {
      sample();
      usersChanged();
    }),
    o.metricsTickMs ?? METRICS_TICK_SECONDS * 1000,
  );
  metricsTimer.unref();
  const streamsTimer = setInterval(
    guarded('streams', () => {
      if (clients.size === 0) return;
      const views = streamViews();
      publish('streams.tick', { streams: views, slots: slots(views) });
    }),
    o.streamsTickMs ?? STREAMS_TICK_SECONDS * 1000,
  );
  streamsTimer.unref();

  const snapshotFrame = (): string => {
    const views = streamViews();
    const data: ConsoleSnapshot = {
      server_time: new Date(clock()).toISOString(),
      streams: views,
      slots: slots(views),
      metrics: streams.getStreamMetrics(),
      history: [...samples],
      pending_users: pendingUsers(),
    };
    // The snapshot carries the id of the last frame it includes: a reconnect after it resumes from there.
    return `id: ${boot}-${seq}\nevent: snapshot\ndata: ${JSON.stringify(data)}\n\n`;
  };

  /** The frames after `lastId`, or undefined when they are not all in the log (or it names another process). */
  const framesAfter = (lastId: string | undefined): string[] | undefined => {
    const m = lastId === undefined ? null : /^([0-9a-z]+)-(\d+)$/.exec(lastId);
    if (!m || m[1] !== boot) return undefined;
    const last = Number(m[2]);
    if (last > seq) return undefined;
    const oldest = frames[0]?.seq ?? seq + 1;
    if (last < oldest - 1) return undefined;
    return frames.filter((f) => f.seq > last).map((f) => f.text);
  };

  return {
    connect(req, res) {
      const header = req.headers['last-event-id'];
      const resumed = framesAfter(typeof header === 'string' ? header.trim() : undefined);
      const client = new SseClient(res, limits, (why) => {
        clients.delete(client);
        if (why === 'write_timeout' || why === 'overflow') log.warn({ action: 'console_feed_cut', why }, 'a console fell too far behind and was cut');
      });
      client.send('retry: 2000\n\n', false);
      if (resumed) for (const f of resumed) client.send(f, false);
      else client.send(snapshotFrame(), false);
      clients.add(client);
    },
    usersChanged,
    publish,
    history: () => [...samples],
    clients: () => [...clients].map((c) => ({ queued: c.queued, dropped: c.dropped })),
    close() {
      clearInterval(metricsTimer);
      clearInterval(streamsTimer);
      for (const c of [...clients]) c.close('server');
    },
  };
}
