// Admission of new streams. A subscription with a wildcard topic turns every topic that matches it into a
// stream, so whoever can publish to the broker decides how many streams the daemon tracks: 1,500 made-up topics
// filled limits.max_streams and the next real stream was refused. A subscription can therefore name the stream
// ids it admits (`allow_streams`) and how many new streams it admits per minute (`new_streams_per_minute`).
// Both are decided here, clock-free: the caller passes the time.

/**
 * A compiled `allow_streams` list. Each entry is a stream id, or a pattern in which `*` matches any run of
 * characters other than "/" (one level: "line1/*" admits "line1/pump1", not "line1/a/b") and `**` any run
 * including "/" ("plant/**"). Everything else matches itself: stream ids hold no regex syntax (letters, digits
 * and "_.:/-"), so no escaping is needed in the config. Chosen over regexes: what an entry admits is obvious to
 * whoever reads the config, and a glob cannot be written to take exponential time.
 */
export class StreamAllowList {
  private readonly exact = new Set<string>();
  private readonly patterns: RegExp[] = [];

  constructor(readonly entries: readonly string[]) {
    for (const entry of entries) {
      if (!entry.includes('*')) this.exact.add(entry);
      else this.patterns.push(globRegExp(entry));
    }
  }

  admits(stream: string): boolean {
    if (this.exact.has(stream)) return true;
    for (const p of this.patterns) if (p.test(stream)) return true;
    return false;
  }
}

/** `*` = one level's run of characters, `**` = any run; every other character literally. */
export function globRegExp(glob: string): RegExp {
  let source = '';
  for (let i = 0; i < glob.length; i++) {
    const c = glob[i];
    if (c === '*') {
      if (glob[i + 1] === '*') {
        source += '.*';
        i++;
      } else source += '[^/]*';
    } else source += c.replace(/[.*+?^${}()|[\]\\/-]/g, '\\$&');
  }
  return new RegExp(`^${source}$`, 's');
}

/**
 * A token bucket of new streams: holds at most `perMinute` tokens (so a plant starting with that many streams at
 * once is admitted at once), refills at `perMinute` a minute, and each new stream takes one. `perMinute` 0 =
 * unlimited. The time is the caller's (ms); a clock that steps back refills nothing.
 */
export class StreamRateBucket {
  private tokens: number;
  private at: number | null = null;

  constructor(private readonly perMinute: number) {
    this.tokens = perMinute;
  }

  /** Takes a token at `now` if one is there; false: the stream is refused for now (its next message may get one). */
  take(now: number): boolean {
    if (this.perMinute <= 0) return true;
    if (this.at !== null && now > this.at) this.tokens = Math.min(this.perMinute, this.tokens + ((now - this.at) * this.perMinute) / 60_000);
    if (this.at === null || now > this.at) this.at = now;
    if (this.tokens < 1) return false;
    this.tokens -= 1;
    return true;
  }
}

/** Why a new stream was not admitted: the reason label of anomalyd_messages_rejected_total. */
export type AdmissionRefusal = 'stream_not_allowed' | 'stream_rate';

export interface AdmissionRule {
  readonly allow?: StreamAllowList;
  readonly bucket?: StreamRateBucket;
}

/** Whether a new stream is admitted under `rule` at `now`: null, or why not (the allow list first: it takes no token). */
export function admit(rule: AdmissionRule, stream: string, now: number): { reason: AdmissionRefusal; detail: string } | null {
  if (rule.allow && !rule.allow.admits(stream)) {
    return { reason: 'stream_not_allowed', detail: `stream id is not in the subscription's allow_streams (${rule.allow.entries.slice(0, 5).join(', ')}${rule.allow.entries.length > 5 ? ', ...' : ''})` };
  }
  if (rule.bucket && !rule.bucket.take(now)) return { reason: 'stream_rate', detail: "the subscription's new_streams_per_minute is used up; a later message of the stream may be admitted" };
  return null;
}
