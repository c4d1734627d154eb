// A bounded FIFO with the configured full policy. `block`: push waits (the caller's promise resolves once the
// item is in), which propagates backpressure to the source (MQTT QoS 1 messages stay unacknowledged at the
// broker). `drop`: the newest item is refused and counted. Either way memory is bounded.

export type WhenFull = 'block' | 'drop';

export class BoundedQueue<T> {
  private items: T[] = [];
  private head = 0;
  private readonly waiters: { item: T; resolve: () => void }[] = [];
  dropped = 0;

  constructor(
    readonly capacity: number,
    readonly whenFull: WhenFull,
  ) {
    if (!Number.isInteger(capacity) || capacity < 1) throw new RangeError(`Queue capacity must be an integer >= 1 (got ${capacity})`);
  }

  get length(): number {
    return this.items.length - this.head;
  }

  /** Items waiting for space (block policy): they count towards memory too, but never exceed the producers. */
  get blocked(): number {
    return this.waiters.length;
  }

  /** true: queued; false: dropped (drop policy); a promise: queued once space frees up (block policy). */
  push(item: T): boolean | Promise<void> {
    if (this.length < this.capacity && this.waiters.length === 0) {
      this.items.push(item);
      return true;
    }
    if (this.whenFull === 'drop') {
      this.dropped++;
      return false;
    }
    return new Promise<void>((resolve) => this.waiters.push({ item, resolve }));
  }

  /** Remove up to `max` items from the front and admit waiting producers into the freed space. */
  take(max: number): T[] {
    const n = Math.min(max, this.length);
    const out = this.items.slice(this.head, this.head + n);
    this.head += n;
    if (this.head > 1024 && this.head * 2 > this.items.length) {
      this.items = this.items.slice(this.head);
      this.head = 0;
    }
    while (this.waiters.length > 0 && this.length < this.capacity) {
      const w = this.waiters.shift();
      if (!w) break;
      this.items.push(w.item);
      w.resolve();
    }
    return out;
  }
}
