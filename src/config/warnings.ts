// Settings that run but lose data under load, or do less than they read as: valid, so `validate` still exits 0, but worth a line. `validate`
// prints them as warnings and `run` logs each at WARN when it starts (and on reload).
import { formatPath, formatValue, type ConfigPath } from './problems';
import type { Config } from './schema';

/**
 * The InfluxDB sink's memory buffer must take what the queues ahead of it can release at once: a whole queue of
 * windows scored in one go turns into points in one burst, and a buffer smaller than a few queues' worth drops
 * the oldest as `overflow` while InfluxDB is merely slow (measured: below 4 x queues.capacity).
 */
export const INFLUX_BUFFER_PER_QUEUE = 4;

/** Warnings in the `path: message (got value)` form; empty when there is nothing to say. */
export function configWarnings(config: Config): string[] {
  const out: string[] = [];
  const warn = (path: ConfigPath, message: string, value: unknown): void => {
    out.push(`${formatPath(path)}: ${message} (got ${formatValue(value)})`);
  };
  const influx = config.sinks.influx;
  const least = INFLUX_BUFFER_PER_QUEUE * config.queues.capacity;
  if (influx && influx.buffer_max_points < least) {
    warn(
      ['sinks', 'influx', 'buffer_max_points'],
      `is below ${INFLUX_BUFFER_PER_QUEUE} x queues.capacity (${least}): a burst from the queues feeding the sink can drop points as overflow before the spool takes them`,
      influx.buffer_max_points,
    );
  }
  // The auto_learn profile enables the likelihood, which replaces any calibrated threshold: SPOT set in `defaults`
  // then judges only streams with a configured model, which a reader of `defaults` alone would not guess.
  const auto = config.subscriptions.some((sub) => sub.model === 'auto') || config.streams.some((s) => s.model === 'auto');
  if (auto && config.defaults.calibration.method === 'spot' && config.auto_learn.calibration?.likelihood?.enabled !== false) {
    warn(
      ['defaults', 'calibration', 'method'],
      'streams that auto-learn their model are judged by the anomaly likelihood (auto_learn.calibration.likelihood.enabled), which replaces the threshold: spot moves the threshold of streams with a configured model only; set auto_learn.calibration.likelihood.enabled: false for SPOT there too',
      'spot',
    );
  }
  return out;
}
