// Notification messages in sequence-number order, none skipped. After a reconnection node-opcua republishes
// the messages the link lost while it already publishes new ones, so they arrive interleaved (24, 30, 25, 31,
// ...), and its republish loop, which asks for "the last sequence number seen + 1", skips those the new ones
// overtook. The window would drop the late samples as out of order. So per subscription this hands messages on
// in order: one ahead of a gap is held, the missing one is asked for again (Republish) after a short wait for
// node-opcua's own republish, and one the server no longer has is reported lost (a gap) and passed over.
// Keep-alive messages carry no data and no sequence of their own; they never reach this.

export interface SequencedMessage {
  readonly sequenceNumber: number;
}

export interface SequenceGateOptions<M extends SequencedMessage> {
  /** Hands a message on (in order). */
  readonly deliver: (message: M) => void;
  /** Asks the server for a message again; null when it no longer has it. */
  readonly republish: (sequenceNumber: number) => Promise<M | null>;
  /** A message the server no longer has: its samples are lost. */
  readonly lost: (sequenceNumber: number) => void;
  /** How long a gap may wait for node-opcua's own republish before this asks (ms). */
  readonly graceMs: number;
}

/** A new subscription (re)starts at 1; a sequence this far behind means the server started over. */
const RESTART_DISTANCE = 1_000;

export class SequenceGate<M extends SequencedMessage> {
  private next: number | null = null;
  private readonly held = new Map<number, M>();
  private filling = false;
  private closed = false;

  constructor(private readonly opts: SequenceGateOptions<M>) {}

  /** Messages held ahead of a gap. */
  get holding(): number {
    return this.held.size;
  }

  push(message: M): void {
    if (this.closed) return;
    const seq = message.sequenceNumber;
    if (this.next === null || (seq < this.next && (seq === 1 || this.next - seq > RESTART_DISTANCE))) {
      // The first message, or a subscription the server created anew: its numbering starts here.
      this.held.clear();
      this.next = seq;
    }
    if (seq < this.next) return; // already handed on (a republish of a message that did arrive)
    this.held.set(seq, message);
    this.drain();
    if (this.held.size > 0 && !this.filling) void this.fill();
  }

  /**
   * Resolves once nothing is held (the gaps were filled, or given up as lost), or after `timeoutMs`: a source
   * about to stop lets a republish under way finish first, while the server still has what it asks for.
   */
  async settled(timeoutMs: number): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (this.held.size > 0 && !this.closed && Date.now() < deadline) await new Promise((r) => setTimeout(r, Math.min(20, this.opts.graceMs)));
  }

  /**
   * The source is stopping: what is held (received, so acknowledged to the server) is handed on in order, the
   * messages missing before each counted lost; then the gate closes.
   */
  flush(): void {
    if (this.closed) return;
    for (const seq of [...this.held.keys()].sort((a, b) => a - b)) {
      const message = this.held.get(seq);
      if (message === undefined) continue;
      for (let missing = this.next ?? seq; missing < seq; missing++) this.opts.lost(missing);
      this.held.delete(seq);
      this.next = seq + 1;
      this.opts.deliver(message);
    }
    this.close();
  }

  /** Stops asking for missing messages; what is held is dropped. */
  close(): void {
    this.closed = true;
    this.held.clear();
  }

  private drain(): void {
    for (let m = this.held.get(this.next ?? 0); m !== undefined && this.next !== null; m = this.held.get(this.next)) {
      this.held.delete(this.next);
      this.next++;
      this.opts.deliver(m);
    }
  }

  /** While something is held: wait a little, then ask for the first missing message (or give it up). */
  private async fill(): Promise<void> {
    this.filling = true;
    try {
      while (this.held.size > 0 && !this.closed && this.next !== null) {
        const missing = this.next;
        await new Promise((r) => setTimeout(r, this.opts.graceMs));
        if (this.closed || this.next !== missing || this.held.size === 0) continue;
        const message = await this.opts.republish(missing).catch(() => null);
        if (this.closed || this.next !== missing) continue;
        if (message) this.held.set(missing, message);
        else {
          this.opts.lost(missing);
          this.next = missing + 1;
        }
        this.drain();
      }
    } finally {
      this.filling = false;
    }
  }
}
