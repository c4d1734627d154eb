// k-of-n debouncing: one exceeded window is often a glitch; requiring k of the last n suppresses single
// spikes while still reacting within n windows to a sustained fault.

export class KOfN {
  private readonly k: number;
  private readonly history: Uint8Array;
  private next = 0;
  private seen = 0;
  private hits = 0;

  constructor(k: number, n: number) {
    if (!Number.isInteger(n) || n < 1) throw new RangeError(`KOfN: n must be an integer >= 1 (got ${n})`);
    if (!Number.isInteger(k) || k < 1 || k > n) {
      throw new RangeError(`KOfN: k must be an integer in [1, ${n}] (got ${k})`);
    }
    this.k = k;
    this.history = new Uint8Array(n);
  }

  /** Records one window's result; true when at least k of the last n (fewer at start) were exceeded. */
  push(exceeded: boolean): boolean {
    if (this.seen === this.history.length) this.hits -= this.history[this.next];
    else this.seen++;
    const bit = exceeded ? 1 : 0;
    this.history[this.next] = bit;
    this.hits += bit;
    this.next = this.next + 1 === this.history.length ? 0 : this.next + 1;
    return this.hits >= this.k;
  }

  /** Number of exceeded results among the last n. */
  get count(): number {
    return this.hits;
  }

  reset(): void {
    this.history.fill(0);
    this.next = 0;
    this.seen = 0;
    this.hits = 0;
  }
}
