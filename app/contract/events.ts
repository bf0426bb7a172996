/**
 * The console's live feed (`GET /api/admin/events`, server-sent events): each event name and its data.
 * A connecting console gets `snapshot` first, then the deltas, each with an id. Types only.
 */
import type { StreamEvents } from '../model/stream.ts';
import type { ActiveStreamWire, MetricSampleWire, MetricsWire, RefusalWire, SlotsWire, UserWire } from './wire.ts';

/** Everything a console needs to draw itself. */
export interface ConsoleSnapshot {
  readonly server_time: string;
  readonly streams: readonly ActiveStreamWire[];
  readonly slots: SlotsWire;
  readonly metrics: MetricsWire;
  /** The 5-second samples of the last hour, oldest first. */
  readonly history: readonly MetricSampleWire[];
  readonly pending_users: number;
}

/** A promotion of a video to the SSD cache, as the cache tier reports it. */
export interface CachePromotionWire {
  readonly content_id: string;
  readonly state: 'running' | 'done' | 'failed';
  /** 0-1. */
  readonly progress: number;
  readonly timestamp: string;
}

/** Event name → data of the live feed. */
export interface ConsoleEvents {
  readonly snapshot: ConsoleSnapshot;
  /** The bus event, with the stream as the console lists it. */
  readonly 'stream.started': StreamEvents['stream.started'] & { readonly stream: ActiveStreamWire | null };
  readonly 'stream.ended': StreamEvents['stream.ended'];
  readonly 'stream.error': StreamEvents['stream.error'];
  readonly 'stream.refused': RefusalWire;
  /** Every few seconds while streams play: positions, rates, buffer health, slots. */
  readonly 'streams.tick': { readonly streams: readonly ActiveStreamWire[]; readonly slots: SlotsWire };
  /** Every 5 s: the new sample and the current figures and alerts. */
  readonly 'metrics.tick': { readonly sample: MetricSampleWire; readonly metrics: MetricsWire };
  readonly 'user.registered': { readonly user: UserWire };
  /** An account's status or role changed (approved, disabled, promoted), here or through the users tool. */
  readonly 'user.changed': { readonly user: UserWire; readonly pending_users: number };
  readonly 'cache.promotion': CachePromotionWire;
}

/** A name of the live feed. */
export type ConsoleEventName = keyof ConsoleEvents;
