// Hands messages to a handler one at a time, in arrival order, and acknowledges each only once the handler
// accepted it (at-least-once delivery with backpressure).
//
// The common case is synchronous: the pipeline takes a message's samples at once and the handler returns
// nothing, so the message is acknowledged in the same tick, without a promise or a microtask per message (a
// promise chain per message showed as a large share of the ingest profile). Only when the handler returns a
// promise (the pipeline pushes back) does acknowledgement wait for it, and every later message queues behind it,
// so order is kept across that switch too. A handler that throws or rejects leaves its message unacknowledged
// (`ack(err)`): the broker sends it again when the session resumes.
import { asError } from '../core/errors';

/** Acknowledge (no argument) or refuse (an error: the message stays unacknowledged at the broker). */
export type Ack = (err?: Error) => void;

/** Accepts a message: returns nothing when taken now, a promise that settles once taken (or refused). */
export type AcceptFn<T> = (message: T) => void | Promise<void>;

export class OrderedAcks<T> {
  /** The last pending (asynchronous) delivery; null when nothing waits, i.e. the synchronous fast path is open. */
  private tail: Promise<void> | null = null;

  constructor(
    private readonly accept: AcceptFn<T>,
    /** Called with a message its handler refused, before it is left unacknowledged (e.g. to log why). */
    private readonly onRefused: (message: T, err: Error) => void = () => undefined,
  ) {}

  /** True while a delivery waits for the handler's promise (messages arriving now queue behind it). */
  get waiting(): boolean {
    return this.tail !== null;
  }

  /** Takes the next message in arrival order; calls `ack` exactly once, possibly before returning. */
  push(message: T, ack: Ack): void {
    if (this.tail !== null) {
      // Also after a rejected tail (an `ack` that threw): one broken acknowledgement must not stall the rest.
      const run = (): Promise<void> | undefined => this.settle(message, ack);
      this.follow(this.tail.then(run, run));
      return;
    }
    const pending = this.settle(message, ack);
    if (pending !== undefined) this.follow(pending);
  }

  /** Resolves once every message pushed so far has been acknowledged or refused. Never rejects. */
  idle(): Promise<void> {
    const none = (): void => undefined;
    return this.tail ? this.tail.then(none, none) : Promise.resolve();
  }

  /** Runs the handler; acknowledges now, or returns a promise that acknowledges once it settled. Never throws. */
  private settle(message: T, ack: Ack): Promise<void> | undefined {
    let accepted: void | Promise<void>;
    try {
      accepted = this.accept(message);
    } catch (err) {
      this.refuse(message, ack, err);
      return undefined;
    }
    if (accepted === undefined) {
      ack();
      return undefined;
    }
    return accepted.then(
      () => ack(),
      (err: unknown) => this.refuse(message, ack, err),
    );
  }

  private refuse(message: T, ack: Ack, err: unknown): void {
    const error = asError(err);
    try {
      this.onRefused(message, error);
    } finally {
      ack(error);
    }
  }

  /** Makes `p` the tail; once it settles and nothing queued behind it, the fast path opens again. */
  private follow(p: Promise<void>): void {
    this.tail = p;
    const open = (): void => {
      if (this.tail === p) this.tail = null;
    };
    void p.then(open, open);
  }
}
