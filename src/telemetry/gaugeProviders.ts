// Sources of gauges whose value lives in a component (queue depth, sink buffers, alerts firing, ...). They
// are read at scrape time, so the gauge is exactly as fresh as the scrape and no timer keeps the process busy.
import type { Gauge } from 'prom-client';

/** Each provider-backed gauge and its label (never: a single value). */
export interface ProviderLabels {
  queue_depth: 'queue';
  sink_buffered_points: 'sink';
  sink_spool_bytes: 'sink';
  sink_connected: 'sink';
  alerts_firing: never;
  mqtt_connected: never;
  streams_active: never;
  ingestion_paused: never;
  maintenance_windows_open: never;
  alerts_held: never;
  streams_offline: never;
  alert_precision: 'stream';
  stream_mode: 'stream' | 'mode';
  model_versions: 'model' | 'version' | 'role';
}
export type ProviderName = keyof ProviderLabels;

export interface GaugeSample<L extends string> {
  readonly labels: Readonly<Record<L, string>>;
  readonly value: number;
}

/** A single-value gauge's provider returns a number; a labelled one returns its samples. */
export type ProviderFn<K extends ProviderName> = [ProviderLabels[K]] extends [never]
  ? () => number
  : () => readonly GaugeSample<ProviderLabels[K]>[];

type AnyProvider = () => number | readonly GaugeSample<string>[];

const SINGLE: ReadonlySet<ProviderName> = new Set<ProviderName>(['alerts_firing', 'mqtt_connected', 'streams_active', 'ingestion_paused', 'maintenance_windows_open', 'alerts_held', 'streams_offline']);

export class GaugeProviders {
  private readonly byName = new Map<ProviderName, AnyProvider[]>();

  add<K extends ProviderName>(name: K, fn: ProviderFn<K>): () => void {
    const list = this.byName.get(name) ?? [];
    const entry: AnyProvider = fn;
    list.push(entry);
    this.byName.set(name, list);
    let removed = false;
    return () => {
      if (removed) return;
      removed = true;
      const i = list.indexOf(entry);
      if (i >= 0) list.splice(i, 1);
    };
  }

  /** Refills `gauge` from the providers of `name`; a provider that throws is skipped and reported. */
  fill(name: ProviderName, gauge: Gauge<string>, onError: () => void): void {
    gauge.reset();
    const list = this.byName.get(name) ?? [];
    if (list.length === 0) return;
    // Single-value gauges: one source of truth, the latest registered (e.g. the alert engine replacing the
    // notice-derived count), since summing two views of the same thing would double count.
    const active = SINGLE.has(name) ? list.slice(-1) : list;
    const sums = new Map<string, { labels: Record<string, string>; value: number }>();
    for (const fn of active) {
      let out: number | readonly GaugeSample<string>[];
      try {
        out = fn();
      } catch {
        onError();
        continue;
      }
      if (typeof out === 'number') {
        gauge.set(out);
        continue;
      }
      for (const s of out) {
        const key = JSON.stringify(Object.entries(s.labels).sort(([a], [b]) => (a < b ? -1 : 1)));
        const prev = sums.get(key);
        if (prev) prev.value += s.value;
        else sums.set(key, { labels: { ...s.labels }, value: s.value });
      }
    }
    for (const { labels, value } of sums.values()) gauge.set(labels, value);
  }
}
