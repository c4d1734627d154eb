// A firing notice read back from the state file (parsed JSON): checked field by field, so a damaged or foreign
// entry is refused with a reason instead of half-applied, and revived (JSON turned NaN into null; the sinks
// expect NaN for "no score").
import type { AlertKind, AlertNotice, ChannelReading, ChannelShare } from './alert';

/** The notice, or a string saying why `value` is not a firing notice of `kind` for `stream`. */
export function reviveFiringNotice(value: unknown, kind: AlertKind, stream: string): AlertNotice | string {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return 'not an object';
  const v = value as Record<string, unknown>;
  if (v['kind'] !== kind) return `kind ${JSON.stringify(v['kind'])} where ${kind} was expected`;
  if (v['stream'] !== stream) return `belongs to stream ${JSON.stringify(v['stream'])}`;
  if (v['status'] !== 'firing') return 'not firing';
  if (typeof v['fingerprint'] !== 'string' || typeof v['model'] !== 'string') return 'bad identity';
  if (v['severity'] !== 'warning' && v['severity'] !== 'critical') return 'bad severity';
  if (!isNumber(v['startsAt']) || !isNumber(v['sequence'])) return 'bad times';
  const top = v['topChannels'];
  if (!Array.isArray(top) || !top.every((c) => typeof c === 'object' && c !== null && typeof (c as Record<string, unknown>)['channel'] === 'string')) return 'bad channels';
  const labels = v['labels'];
  if (typeof labels !== 'object' || labels === null || !Object.values(labels).every((l) => typeof l === 'string')) return 'bad labels';
  if (v['summarisedBy'] !== undefined && typeof v['summarisedBy'] !== 'string') return 'bad summary mark';
  if (v['maintenance'] !== undefined && typeof v['maintenance'] !== 'string') return 'bad maintenance mark';
  if (v['maintenanceEnded'] !== undefined && typeof v['maintenanceEnded'] !== 'string') return 'bad maintenance note';
  const num = (x: unknown): number => (isNumber(x) ? x : NaN);
  return {
    ...(value as AlertNotice),
    endsAt: null,
    score: num(v['score']),
    threshold: num(v['threshold']),
    pValue: num(v['pValue']),
    topChannels: top.map((c: { channel: string; share?: unknown; reading?: unknown }) => revivedShare(c.channel, num(c.share), c.reading)),
  };
}

/** A top channel with its reading where one was saved whole (JSON wrote an unknown training bound as null). */
function revivedShare(channel: string, share: number, reading: unknown): ChannelShare {
  if (typeof reading !== 'object' || reading === null) return { channel, share };
  const r = reading as Record<string, unknown>;
  if (!isNumber(r['observed']) || !isNumber(r['expected'])) return { channel, share };
  const bound = (x: unknown): number => (isNumber(x) ? x : NaN);
  const revived: ChannelReading = { observed: r['observed'], expected: r['expected'], trainingMin: bound(r['trainingMin']), trainingMax: bound(r['trainingMax']) };
  return { channel, share, reading: revived };
}

export function isNumber(value: unknown): value is number {
  return typeof value === 'number' && Number.isFinite(value);
}
