// What the `retrain` schema cannot say: `influx_query` goes with `source: influx` (in the same section, or a
// source: influx section below the top-level query), and source influx needs sinks.influx (the server, the
// database the query runs in and the one the daemon's alerts, labels and maintenance windows are read from).
import type { ConfigPath, ProblemList } from './problems';
import type { Config } from './schema';

interface Layer {
  readonly at: ConfigPath;
  readonly retrain: { readonly source?: string; readonly influx_query?: string } | undefined;
}

export function checkRetrain(config: Config, problems: ProblemList): void {
  const top = config.retrain;
  const layers: Layer[] = [
    { at: ['retrain'], retrain: top },
    ...config.subscriptions.map((s, i): Layer => ({ at: ['subscriptions', i, 'retrain'], retrain: s.retrain })),
    ...config.streams.map((s, i): Layer => ({ at: ['streams', i, 'retrain'], retrain: s.retrain })),
  ];
  const sourceOf = (l: Layer): string | undefined => l.retrain?.source ?? (l.at.length === 1 ? 'recorded' : top?.source);
  const influx = layers.some((l) => l.retrain !== undefined && sourceOf(l) === 'influx');
  for (const l of layers) {
    if (!l.retrain) continue;
    if (sourceOf(l) === 'influx' && l.retrain.influx_query === undefined && top?.influx_query === undefined) {
      problems.add([...l.at, 'influx_query'], "is required with source: influx (the query of the stream's history)", undefined);
    }
    // A top-level query may serve the sections below that choose influx.
    if (l.retrain.influx_query !== undefined && !influx) problems.add([...l.at, 'influx_query'], 'is only read with source: influx', l.retrain.influx_query);
  }
  if (influx && config.sinks.influx === undefined) problems.add(['sinks', 'influx'], 'is required by retrain source: influx (the InfluxDB the query runs in)', undefined);
}
