// `anomalyd replay`: run recorded data through the daemon's windowing, scaling, scoring and k-of-n decisions
// and write what it would have done: per-window scores, decisions and alert episodes. Optionally writes the
// two other products of a denoising autoencoder: the denoised signal and the latent codes.
import { writeFile } from 'node:fs/promises';
import { loadConfig } from '../app/configFiles';
import { windowsFromCsvFiles } from '../app/recorded';
import { loadConfigText } from '../config/load';
import type { AlertingConfig } from '../config/schema';
import { KOfN } from '../core/debounce';
import type { Window } from '../core/types';
import { formatCsv } from '../sources/csv';
import { selectBackend } from '../model/backend';
import { Detector, type ScoredWindow } from '../model/detector';
import { overlapAdd } from './overlapAdd';
import { parseCommand, printJson, requireOption, round } from './common';
import { printWarnings, timeUnitUsage, timeUnitOption } from './trainingData';

const USAGE = `Usage: anomalyd replay --model DIR --input CSV [options]

  --model DIR           model directory
  --input CSV           recorded data with the model's channels (header row; optional timestamp column)
  --out CSV             per-window scores, decisions and channel shares
  --denoised-out CSV    the reconstructed (denoised) signal, one row per input sample
  --latent-out CSV      the bottleneck code of each window
  -c, --config FILE     alerting settings (k of n, reset) from this config's defaults, and its csv.time_unit
${timeUnitUsage(24)}
  --json                print one JSON summary object on stdout`;

const CHUNK = 4096;

export interface AlertEpisode {
  start: string;
  end: string | null;
  windows: number;
  peak_score: number;
  top_channels: { channel: string; share: number }[];
}

export async function replayCommand(args: string[]): Promise<number> {
  const values = parseCommand(
    args,
    {
      model: { type: 'string' },
      input: { type: 'string' },
      out: { type: 'string' },
      'denoised-out': { type: 'string' },
      'latent-out': { type: 'string' },
      config: { type: 'string', short: 'c' },
      'time-unit': { type: 'string' },
    },
    USAGE,
  );
  if (!values) return 0;
  const modelDir = requireOption(values.model, 'model', USAGE);
  const input = requireOption(values.input, 'input', USAGE);
  const timeUnitFlag = timeUnitOption(values['time-unit'], USAGE);
  const config = values.config ? await loadConfig(values.config) : undefined;
  const alerting = config ? config.defaults.alerting : loadConfigText('{}', '<defaults>').defaults.alerting;

  await selectBackend();
  const detector = await Detector.load(modelDir);
  const m = detector.manifest;
  const recorded = await windowsFromCsvFiles([input], { id: m.stream, channels: m.channels }, m.window, { timeUnit: timeUnitFlag ?? config?.csv.time_unit });
  printWarnings(recorded.warnings);
  const scored: ScoredWindow[] = [];
  for (let i = 0; i < recorded.windows.length; i += CHUNK) scored.push(...detector.score(recorded.windows.slice(i, i + CHUNK)));
  const decisions = decide(scored, alerting);
  const episodes = alertEpisodes(scored, decisions, m.channels);

  if (values.out) await writeFile(values.out, scoresCsv(scored, decisions, m.channels));
  if (values['denoised-out']) {
    const series = recorded.series[0];
    const denoised = overlapAdd(series, recorded.windows, chunked(recorded.windows, (w) => detector.denoise(w)), m.architecture.inputSize);
    const rows = Array.from({ length: series.rows }, (_, r) => [
      new Date(series.ts[r]).toISOString(),
      ...Array.from(denoised.subarray(r * m.channels.length, (r + 1) * m.channels.length)),
    ]);
    await writeFile(values['denoised-out'], formatCsv(['timestamp', ...m.channels], rows));
  }
  if (values['latent-out']) {
    const latent = detector.latent(recorded.windows);
    const rows = recorded.windows.map((w, i) => [
      new Date(w.end).toISOString(),
      ...Array.from(latent.data.subarray(i * latent.latentSize, (i + 1) * latent.latentSize)),
    ]);
    await writeFile(values['latent-out'], formatCsv(['window_end', ...Array.from({ length: latent.latentSize }, (_, k) => `z${k + 1}`)], rows));
  }
  const summary = {
    model: modelDir,
    input,
    samples: recorded.samples,
    windows: scored.length,
    insufficient_windows: recorded.insufficient,
    threshold: round(detector.threshold, 6),
    anomalous_windows: scored.filter((s) => s.anomalous).length,
    alert_windows: decisions.filter(Boolean).length,
    clipped_fraction: round(detector.scaledValues ? detector.clippedValues / detector.scaledValues : 0, 6),
    alerts: episodes,
    warnings: recorded.warnings,
  };
  detector.dispose();
  if (values.json) printJson(summary);
  else {
    process.stdout.write(
      `${summary.windows} windows scored (${summary.insufficient_windows} insufficient), ${summary.anomalous_windows} above threshold ${summary.threshold}, ${episodes.length} alert(s)\n`,
    );
    for (const e of episodes) {
      const top = e.top_channels.map((c) => `${c.channel} ${Math.round(c.share * 100)}%`).join(', ');
      process.stdout.write(`  alert ${e.start} -> ${e.end ?? 'still firing'}  peak ${round(e.peak_score, 6)}  top: ${top}\n`);
    }
  }
  return 0;
}

/** k-of-n debounced alert state per window, with hysteresis: resolve after reset_windows windows below reset_ratio x threshold. */
function decide(scored: readonly ScoredWindow[], a: AlertingConfig): boolean[] {
  const kofn = new KOfN(a.k, a.n);
  let firing = false;
  let calm = 0;
  return scored.map((s) => {
    const fire = kofn.push(s.anomalous);
    if (!firing) {
      firing = fire;
      calm = 0;
    } else {
      calm = s.score < a.reset_ratio * s.threshold ? calm + 1 : 0;
      if (calm >= a.reset_windows) firing = false;
    }
    return firing;
  });
}

function alertEpisodes(scored: readonly ScoredWindow[], decisions: readonly boolean[], channels: readonly string[]): AlertEpisode[] {
  const episodes: AlertEpisode[] = [];
  let current: { startIdx: number; peak: number; peakIdx: number } | undefined;
  const close = (endIdx: number | undefined): void => {
    if (!current) return;
    const shares = scored[current.peakIdx].channelShares;
    const top = Array.from(shares, (share, c) => ({ channel: channels[c], share: round(share, 4) }))
      .sort((x, y) => y.share - x.share)
      .slice(0, 3);
    episodes.push({
      start: new Date(scored[current.startIdx].end).toISOString(),
      end: endIdx === undefined ? null : new Date(scored[endIdx].end).toISOString(),
      windows: (endIdx ?? scored.length) - current.startIdx,
      peak_score: current.peak,
      top_channels: top,
    });
    current = undefined;
  };
  decisions.forEach((on, i) => {
    if (on && !current) current = { startIdx: i, peak: scored[i].score, peakIdx: i };
    else if (on && current && scored[i].score > current.peak) current = { ...current, peak: scored[i].score, peakIdx: i };
    else if (!on && current) close(i);
  });
  close(undefined);
  return episodes;
}

function scoresCsv(scored: readonly ScoredWindow[], decisions: readonly boolean[], channels: readonly string[]): string {
  const header = ['window_start', 'window_end', 'score', 'threshold', 'p_value', 'anomalous', 'alert', 'completeness', ...channels.map((c) => `share_${c}`)];
  const rows = scored.map((s, i) => [
    new Date(s.start).toISOString(),
    new Date(s.end).toISOString(),
    s.score,
    s.threshold,
    s.pValue,
    s.anomalous ? 1 : 0,
    decisions[i] ? 1 : 0,
    s.completeness,
    ...Array.from(s.channelShares),
  ]);
  return formatCsv(header, rows);
}

function chunked(windows: readonly Window[], fn: (w: readonly Window[]) => Float32Array): Float32Array[] {
  const out: Float32Array[] = [];
  for (let i = 0; i < windows.length; i += CHUNK) out.push(fn(windows.slice(i, i + CHUNK)));
  return out;
}
