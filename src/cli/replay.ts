// `anomalyd replay`: run recorded data through the daemon's own Pipeline and alert state machine, with the
// stream's settings from a config (-c) as the daemon binds them, and write what the daemon would have done:
// per-window scores, alert flags and alert episodes. Optionally writes the two other products of a denoising
// autoencoder: the denoised signal and the latent codes.
import { writeFile } from 'node:fs/promises';
import { loadConfig } from '../app/configFiles';
import { applyModelShapes, readModelShapes } from '../app/modelShape';
import { ConfigError } from '../core/errors';
import { windowsFromCsvFiles } from '../offline/recorded';
import { loadReplayModel, replayRecording, type AlertEpisode, type ReplayConfig } from '../offline/replayRecording';
import { configuredModelPath } from '../offline/replaySetup';
import { alertFlags } from '../offline/replayEpisodes';
import { alertName } from '../core/alert';
import type { Window } from '../core/types';
import type { ScorePoint } from '../sinks/sink';
import { formatCsv } from '../sources/csv';
import { backendPreference } from '../app/backend';
import { selectBackend } from '../model/backend';
import { overlapAdd } from './overlapAdd';
import { parseCommand, printJson, printWarnings, requireOption, round, UsageError } from './common';
import { timeUnitUsage, timeUnitOption } from './trainingData';

const USAGE = `Usage: anomalyd replay --input CSV (--model DIR | -c FILE --stream ID) [options]

  Streams the recording through the daemon's pipeline (windows, scoring, score filter, sensor checks, alert
  state machine) as if its rows had arrived live with these timestamps: the alerts are the ones the daemon
  would raise.

  --model DIR           model directory (default with -c: the model the config binds the stream to)
  --input CSV           recorded data with the model's channels (header row; optional timestamp column)
  -c, --config FILE     the daemon's config: the stream's window, alerting, calibration (score filter) and
                        sensor-check settings, as the daemon binds them (defaults, then subscription and
                        stream overrides); without it, the default settings and the model's window
  --stream ID           the stream whose settings apply (default: the model's stream)
  --out CSV             per-window scores, decisions and channel shares
  --denoised-out CSV    the reconstructed (denoised) signal, one row per input sample
  --latent-out CSV      the bottleneck code of each window
${timeUnitUsage(24)}
  --json                print one JSON summary object on stdout`;

const CHUNK = 4096;

/** An anomaly alert as --json and the text output show it. */
export interface AlertEpisodeJson {
  start: string;
  end: string | null;
  windows: number;
  peak_score: number;
  severity: string;
  flapping: boolean;
  top_channels: { channel: string; share: number }[];
}

/** An insufficient-data or sensor-check alert. */
export interface OtherAlertJson {
  alertname: string;
  start: string;
  end: string | null;
  severity: string;
  channels: string[];
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
      stream: { type: 'string' },
      'time-unit': { type: 'string' },
    },
    USAGE,
  );
  if (!values) return 0;
  const input = requireOption(values.input, 'input', USAGE);
  const timeUnitFlag = timeUnitOption(values['time-unit'], USAGE);
  const cfg: ReplayConfig | undefined = values.config ? await replayConfig(values.config) : undefined;
  const modelDir = values.model ?? configuredModelDir(cfg, values.stream);

  await selectBackend(cfg ? backendPreference(cfg.config.inference.backend) : undefined);
  const model = await loadReplayModel(modelDir, cfg, values.stream);
  const { detector, setup } = model;
  for (const w of setup.warnings) process.stderr.write(`Warning: ${w}\n`);
  const m = detector.manifest;
  const timeUnit = timeUnitFlag ?? cfg?.config.csv.time_unit;
  const replay = await replayRecording(model, input, timeUnit);
  printWarnings(replay.series.warnings);
  const clippedFraction = detector.scaledValues ? detector.clippedValues / detector.scaledValues : 0;
  const flags = alertFlags(replay.scores, replay.alerts);

  if (values.out) await writeFile(values.out, scoresCsv(replay.scores, flags, m.channels));
  const needWindows = values['denoised-out'] !== undefined || values['latent-out'] !== undefined;
  const windows = needWindows ? (await windowsFromCsvFiles([input], setup.stream, setup.window, timeUnit ? { timeUnit } : {})).windows : [];
  if (values['denoised-out']) {
    const series = replay.series;
    const denoised = overlapAdd(series, windows, chunked(windows, (w) => detector.denoise(w)), m.architecture.inputSize);
    const rows = Array.from({ length: series.rows }, (_, r) => [
      new Date(series.ts[r]).toISOString(),
      ...Array.from(denoised.subarray(r * m.channels.length, (r + 1) * m.channels.length)),
    ]);
    await writeFile(values['denoised-out'], formatCsv(['timestamp', ...m.channels], rows));
  }
  if (values['latent-out']) {
    const latent = detector.latent(windows);
    const rows = windows.map((w, i) => [
      new Date(w.end).toISOString(),
      ...Array.from(latent.data.subarray(i * latent.latentSize, (i + 1) * latent.latentSize)),
    ]);
    await writeFile(values['latent-out'], formatCsv(['window_end', ...Array.from({ length: latent.latentSize }, (_, k) => `z${k + 1}`)], rows));
  }
  const alerts = replay.alerts.map(anomalyJson);
  const summary = {
    model: modelDir,
    input,
    stream: setup.stream.id,
    settings: setup.settingsFrom,
    samples: replay.series.rows,
    windows: replay.scores.length,
    insufficient_windows: replay.insufficient,
    threshold: round(detector.threshold, 6),
    fixed_threshold: model.fixedThreshold,
    score_filter: replay.filtered,
    anomalous_windows: replay.scores.filter((s) => s.anomalous).length,
    alert_windows: flags.reduce((a, b) => a + b, 0),
    clipped_fraction: round(clippedFraction, 6),
    alerts,
    other_alerts: replay.otherAlerts.map(otherJson),
    warnings: [...setup.warnings, ...replay.series.warnings],
  };
  model.dispose();
  if (values.json) printJson(summary);
  else {
    process.stdout.write(
      `${summary.windows} windows scored (${summary.insufficient_windows} insufficient), ${summary.anomalous_windows} above threshold ` +
        `${replay.filtered === 'likelihood' ? `(anomaly likelihood; model threshold ${summary.threshold})` : replay.filtered === 'spot' ? `(SPOT, moving from the model threshold ${summary.threshold})` : summary.threshold}, ${alerts.length} alert(s)\n`,
    );
    for (const e of alerts) {
      const top = e.top_channels.map((c) => `${c.channel} ${Math.round(c.share * 100)}%`).join(', ');
      const flapping = e.flapping ? ' flapping' : '';
      process.stdout.write(`  alert ${e.start} -> ${e.end ?? 'still firing'}  ${e.severity}${flapping}  peak ${round(e.peak_score, 6)}  top: ${top}\n`);
    }
    for (const e of summary.other_alerts) {
      process.stdout.write(`  ${e.alertname} ${e.start} -> ${e.end ?? 'still firing'}${e.channels.length > 0 ? `  channels: ${e.channels.join(', ')}` : ''}\n`);
    }
  }
  return 0;
}

/** Without --model, the directory of the model the config binds the stream to. */
function configuredModelDir(cfg: ReplayConfig | undefined, stream: string | undefined): string {
  if (!cfg || stream === undefined) throw new UsageError('Missing required option --model (or -c FILE with --stream ID)', USAGE);
  const found = configuredModelPath(cfg, stream);
  if (typeof found !== 'string') throw new UsageError(`${found.problem}; pass --model DIR`, USAGE);
  return found;
}

function anomalyJson(e: AlertEpisode): AlertEpisodeJson {
  return {
    start: iso(e.start),
    end: e.end === null ? null : iso(e.end),
    windows: e.windows,
    peak_score: e.peakScore,
    severity: e.severity,
    flapping: e.flapping,
    top_channels: e.topChannels.map((c) => ({ channel: c.channel, share: round(c.share, 4) })),
  };
}

function otherJson(e: AlertEpisode): OtherAlertJson {
  return { alertname: alertName(e.kind), start: iso(e.start), end: e.end === null ? null : iso(e.end), severity: e.severity, channels: e.topChannels.map((c) => c.channel) };
}

function iso(ms: number): string {
  return new Date(ms).toISOString();
}

function scoresCsv(scores: readonly ScorePoint[], alert: Uint8Array, channels: readonly string[]): string {
  const header = ['window_start', 'window_end', 'score', 'threshold', 'p_value', 'anomalous', 'alert', 'completeness', ...channels.map((c) => `share_${c}`)];
  const rows = scores.map((s, i) => [
    new Date(s.windowStart ?? s.time).toISOString(),
    new Date(s.time).toISOString(),
    s.score,
    s.threshold,
    s.pValue,
    s.anomalous ? 1 : 0,
    alert[i],
    s.completeness,
    ...channels.map((c) => s.channelShares[c] ?? 0),
  ]);
  return formatCsv(header, rows);
}

function chunked(windows: readonly Window[], fn: (w: readonly Window[]) => Float32Array): Float32Array[] {
  const out: Float32Array[] = [];
  for (let i = 0; i < windows.length; i += CHUNK) out.push(fn(windows.slice(i, i + CHUNK)));
  return out;
}

/**
 * The config as the daemon runs it: each stream bound to a trained model takes the model's window and channels,
 * and a stated value that contradicts the model is refused here as `validate` and `run` refuse it.
 */
async function replayConfig(file: string): Promise<ReplayConfig> {
  const loaded = await loadConfig(file);
  const shaped = applyModelShapes(loaded, await readModelShapes(loaded));
  if (shaped.problems.length > 0) throw new ConfigError(file, [...shaped.problems]);
  return { config: shaped.config, file };
}
