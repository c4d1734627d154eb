// The persisted form of one stream's alert state, and a check of what was read back from disk: a state file
// from an older version or a damaged one must be refused with a reason, not half-applied.
import type { AlertNotice, AlertSeverity } from './alert';
import type { EpisodeSnapshot } from './alertEpisode';

export const ALERT_SNAPSHOT_VERSION = 1;

export type HeldState = 'none' | 'firing' | 'flapping';

export interface AlertSnapshot {
  readonly version: typeof ALERT_SNAPSHOT_VERSION;
  readonly stream: string;
  readonly episode: EpisodeSnapshot;
  /** What receivers were told about the anomaly alert. */
  readonly held: HeldState;
  readonly severity: AlertSeverity;
  /** Window times at which episodes started within the flapping period. */
  readonly starts: readonly number[];
  /** While flapping: when the last episode ended (null while one is active). */
  readonly quietSince: number | null;
  /** The last firing notice of the anomaly alert while held (the base of its resolve). */
  readonly anomaly: AlertNotice | null;
  readonly insufficientCount: number;
  /** The firing insufficient_data notice while that alert is active. */
  readonly insufficient: AlertNotice | null;
  readonly lastThreshold: number;
}

/** Why `value` is not a usable snapshot for `stream`, or null when it is. */
export function snapshotProblem(value: unknown, stream: string): string | null {
  if (!isRecord(value)) return 'not an object';
  if (value['version'] !== ALERT_SNAPSHOT_VERSION) return `unsupported version ${String(value['version'])}`;
  if (value['stream'] !== stream) return `belongs to stream ${JSON.stringify(value['stream'])}`;
  const episode = value['episode'];
  if (!isRecord(episode) || !Array.isArray(episode['recent']) || !episode['recent'].every((f) => typeof f === 'boolean')) return 'bad episode';
  if (typeof episode['active'] !== 'boolean' || !isNumber(episode['since']) || !isNumber(episode['calm'])) return 'bad episode';
  if (!['none', 'firing', 'flapping'].includes(value['held'] as string)) return 'bad held state';
  if (value['severity'] !== 'warning' && value['severity'] !== 'critical') return 'bad severity';
  if (!Array.isArray(value['starts']) || !value['starts'].every(isNumber)) return 'bad starts';
  if (value['quietSince'] !== null && !isNumber(value['quietSince'])) return 'bad quietSince';
  if (!isNumber(value['insufficientCount']) || !isNumber(value['lastThreshold'])) return 'bad counters';
  if (value['held'] !== 'none' && !isNotice(value['anomaly'])) return 'held alert without its notice';
  if (value['insufficient'] !== null && !isNotice(value['insufficient'])) return 'bad insufficient notice';
  return null;
}

function isNotice(value: unknown): value is AlertNotice {
  return (
    isRecord(value) &&
    typeof value['fingerprint'] === 'string' &&
    typeof value['stream'] === 'string' &&
    typeof value['model'] === 'string' &&
    (value['kind'] === 'anomaly' || value['kind'] === 'insufficient_data') &&
    (value['severity'] === 'warning' || value['severity'] === 'critical') &&
    isNumber(value['startsAt']) &&
    isNumber(value['sequence']) &&
    Array.isArray(value['topChannels']) &&
    isRecord(value['labels'])
  );
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function isNumber(value: unknown): value is number {
  return typeof value === 'number' && Number.isFinite(value);
}
