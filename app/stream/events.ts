/**
 * A typed in-process event bus for stream events. A failing subscriber is reported and never breaks
 * the emitter or the other subscribers.
 */
import type { StreamEventName, StreamEvents } from '../model/stream.ts';

type Handler<K extends StreamEventName> = (payload: StreamEvents[K]) => void;

/** Publishes stream events to subscribers. */
export class EventBus {
  private readonly handlers = new Map<StreamEventName, Set<Handler<StreamEventName>>>();

  constructor(private readonly onSubscriberError: (err: unknown, event: StreamEventName) => void = () => undefined) {}

  /** Subscribes; returns the unsubscribe function. */
  on<K extends StreamEventName>(event: K, handler: Handler<K>): () => void {
    let set = this.handlers.get(event);
    if (!set) this.handlers.set(event, (set = new Set()));
    set.add(handler as Handler<StreamEventName>);
    return () => set.delete(handler as Handler<StreamEventName>);
  }

  /** Delivers an event to every subscriber, synchronously. */
  emit<K extends StreamEventName>(event: K, payload: StreamEvents[K]): void {
    for (const h of this.handlers.get(event) ?? []) {
      try {
        (h as Handler<K>)(payload);
      } catch (err) {
        this.onSubscriberError(err, event);
      }
    }
  }
}
