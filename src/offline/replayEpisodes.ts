// Alert episodes from the notices a stream's alert state machine and sensor checks emitted, as a receiver of
// the daemon's webhooks would put them together: an episode starts with a firing notice (its startsAt), takes
// a later firing notice of the same alert as an escalation (severity), and ends with its resolve (endsAt). Its
// top channels are the ones the page named (the first firing notice); its peak score and window count come
// from the scored windows between start and end.
import type { AlertKind, AlertNotice, AlertSeverity, ChannelShare } from '../core/alert';
import { FLAPPING_LABEL } from '../core/alerting';
import type { ScorePoint } from '../sinks/sink';

export interface AlertEpisode {
  readonly kind: AlertKind;
  readonly fingerprint: string;
  /** startsAt of its firing notice (ms): the end of the window (or the sample) that started it. */
  readonly start: number;
  /** endsAt of its resolve (ms); null while still firing at the end of the data. */
  readonly end: number | null;
  /** Highest severity it was notified with (an escalation raises it). */
  readonly severity: AlertSeverity;
  /** Whether it was held as flapping. */
  readonly flapping: boolean;
  /** The channels its page named: largest error shares (anomaly) or the faulty sensors (sensor checks). */
  readonly topChannels: readonly ChannelShare[];
  /** Scored windows from its start to before its end. */
  readonly windows: number;
  /** Highest window score in that span (NaN when none was scored). */
  readonly peakScore: number;
}

interface Open {
  readonly first: AlertNotice;
  severity: AlertSeverity;
  flapping: boolean;
}

/** Episodes in the order they started. `scores` are the stream's scored windows in time order. */
export function alertEpisodes(notices: readonly AlertNotice[], scores: readonly ScorePoint[]): AlertEpisode[] {
  const open = new Map<string, Open>();
  const done: { o: Open; end: number | null }[] = [];
  for (const n of notices) {
    const o = open.get(n.fingerprint);
    if (n.status === 'firing') {
      if (!o) open.set(n.fingerprint, { first: n, severity: n.severity, flapping: isFlapping(n) });
      else {
        if (n.severity === 'critical') o.severity = 'critical';
        o.flapping ||= isFlapping(n);
      }
    } else if (o) {
      open.delete(n.fingerprint);
      done.push({ o, end: n.endsAt });
    }
  }
  for (const o of open.values()) done.push({ o, end: null });
  return done
    .sort((a, b) => a.o.first.startsAt - b.o.first.startsAt || a.o.first.sequence - b.o.first.sequence)
    .map(({ o, end }) => {
      const { first } = o;
      let windows = 0;
      let peak = Number.NaN;
      for (const p of scores) {
        if (p.time < first.startsAt || (end !== null && p.time >= end)) continue;
        windows++;
        if (!(p.score <= peak)) peak = p.score;
      }
      return {
        kind: first.kind,
        fingerprint: first.fingerprint,
        start: first.startsAt,
        end,
        severity: o.severity,
        flapping: o.flapping,
        topChannels: first.topChannels,
        windows,
        peakScore: peak,
      };
    });
}

function isFlapping(n: AlertNotice): boolean {
  return n.labels[FLAPPING_LABEL] === 'true';
}

/** 1 for each score point inside an anomaly episode (from its start to before its end). */
export function alertFlags(scores: readonly ScorePoint[], episodes: readonly AlertEpisode[]): Uint8Array {
  const flags = new Uint8Array(scores.length);
  const anomalies = episodes.filter((e) => e.kind === 'anomaly');
  scores.forEach((p, i) => {
    if (anomalies.some((e) => p.time >= e.start && (e.end === null || p.time < e.end))) flags[i] = 1;
  });
  return flags;
}
