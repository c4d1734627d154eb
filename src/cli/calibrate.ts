// `anomalyd calibrate`: set (or reset) a model's threshold from clean recorded data, e.g. a week of normal
// operation that the model was not trained on. Rewrites manifest.json only; the weights stay.
import { loadConfigText } from '../config/load';
import { calibrationMethod, withRhythm } from '../app/detection';
import { loadConfig } from '../app/configFiles';
import { resolveStream } from '../app/detection';
import type { Config } from '../config/schema';
import { calibrationWarnings, exceedFraction, validateMethod, type CalibrationMethod } from '../core/calibration';
import { errorMessage, InputError } from '../core/errors';
import { selectBackend } from '../model/backend';
import { Detector } from '../model/detector';
import { withCalibration } from '../model/fitDetector';
import { writeManifest } from '../model/artifact';
import { UsageError, formatPercent, parseCommand, parseNumberOption, printJson, printWarnings, requireOption, round } from './common';
import { modeSelection, modeUsage, recordedWindows, timeUnitUsage, timeUnitOption, trainingSource } from './trainingData';

const USAGE = `Usage: anomalyd calibrate --model DIR (--input CSV [--input CSV ...] | --influx-query Q) [options]

  --model DIR          model directory (manifest.json is updated in place)
  --input CSV          clean recorded data with the model's channels; repeatable
  --influx-query Q     InfluxQL returning time and the model's channels as columns; windows overlapping the
                       stream's alerts (anomaly_alert) are left out
  --influx-url URL     InfluxDB to query, http://host:8086/<database> (default: sinks.influx of -c FILE)
  -c, --config FILE    config for --influx-query: sinks.influx (server, credentials, alerts) and alerting.n
  --method METHOD      pot (default), percentile, sigma, robust or spot
  --target X           pot, spot: exceedance probability q per window (default 1e-4);
                       percentile: the percentile (default 99.5); sigma: k in mean + k*std (default 4);
                       robust: the factor on the clean error floor (default 3)
${timeUnitUsage(23)}
${modeUsage(23)}
  --stream ID          with --mode: the stream whose modes apply (default: the stream the model's manifest names)
  --force              accept a percentile target in (0, 1] (refused by default: usually a fraction typed
                       for a percentile, e.g. 0.995 for 99.5)
  --json               print one JSON object on stdout`;

export async function calibrateCommand(args: string[]): Promise<number> {
  const values = parseCommand(
    args,
    {
      model: { type: 'string' },
      input: { type: 'string', multiple: true },
      'influx-query': { type: 'string' },
      'influx-url': { type: 'string' },
      config: { type: 'string', short: 'c' },
      method: { type: 'string' },
      target: { type: 'string' },
      'time-unit': { type: 'string' },
      force: { type: 'boolean', default: false },
      mode: { type: 'string' },
      stream: { type: 'string' },
    },
    USAGE,
  );
  if (!values) return 0;
  const modelDir = requireOption(values.model, 'model', USAGE);
  const source = trainingSource(values.input, values['influx-query'], values['influx-url'], USAGE, timeUnitOption(values['time-unit'], USAGE));
  const config = values.config !== undefined ? await loadConfig(values.config) : undefined;
  const method = methodFrom(values.method, parseNumberOption(values.target, 'target', USAGE), values.force);

  await selectBackend();
  const detector = await Detector.load(modelDir);
  const m = detector.manifest;
  const stream = { id: m.stream, channels: m.channels };
  const mode = modeSelection(config, { id: values.stream ?? m.stream, channels: m.channels }, values.mode, USAGE);
  // The model's rhythm tracker too: its threshold is calibrated on the joined scores, as it was learnt.
  const recorded = await recordedWindows(source, config, stream, withRhythm(m.window, m.rhythm, m.channels), alertWindows(config, values.config, m.stream), mode);
  if (recorded.windows.length < 2) {
    throw new InputError(`${recorded.from}: only ${recorded.windows.length} complete window(s); calibration needs more clean data`);
  }
  const scores = detector.score(recorded.windows).map((s) => s.score);
  const calibrated = withCalibration(detector, scores, method);
  await writeManifest(modelDir, calibrated.manifest);
  const cal = calibrated.manifest.calibration;
  const warnings = cal ? calibrationWarnings(scores, cal) : [];
  const result = {
    model: modelDir,
    method: method.kind,
    source: source.kind,
    windows: recorded.windows.length,
    insufficient_windows: recorded.insufficient,
    excluded_windows: recorded.excluded,
    alert_periods: recorded.alertPeriods,
    previous_threshold: m.calibration ? round(m.calibration.threshold, 6) : null,
    threshold: cal ? round(cal.threshold, 6) : null,
    exceed_fraction: cal ? round(exceedFraction(scores, cal.threshold), 6) : null,
    warnings: [...recorded.warnings, ...warnings],
  };
  detector.dispose();
  printWarnings(warnings);
  if (values.json) printJson(result);
  else {
    const flags = result.exceed_fraction === null ? '' : ` (flags ${formatPercent(result.exceed_fraction)} of these windows)`;
    process.stdout.write(`Calibrated '${modelDir}' by ${method.kind} on ${result.windows} windows: threshold ${result.threshold}${flags}\n`);
  }
  return 0;
}

/** Method and target from the flags; missing values come from the config schema's defaults. */
function methodFrom(name: string | undefined, target: number | undefined, force: boolean): CalibrationMethod {
  const defaults = loadConfigText('{}', '<defaults>').defaults.calibration;
  const kind = name ?? defaults.method;
  if (kind !== 'pot' && kind !== 'percentile' && kind !== 'sigma' && kind !== 'robust' && kind !== 'spot') {
    throw new UsageError(`--method must be pot, percentile, sigma, robust or spot (got '${kind}')`, USAGE);
  }
  const base = calibrationMethod({ ...defaults, method: kind });
  // 0.999 for 99.9 gives a threshold that 99.9 % of normal windows exceed: an alert storm, never what is meant.
  if (base.kind === 'percentile' && target !== undefined && target > 0 && target <= 1 && !force) {
    // 1 as a fraction is 100 %, not a percentile either: point at the usual range instead.
    const meant = target < 1 ? String(Number((target * 100).toPrecision(12))) : '99.9';
    throw new UsageError(
      `--target ${target}: a percentile is in (0, 100) and ${target} looks like a fraction; did you mean ${meant} (a percentile)? ` +
        `Add --force to use the ${target}th percentile as given.`,
      USAGE,
    );
  }
  const method: CalibrationMethod =
    target === undefined
      ? base
      : base.kind === 'pot' || base.kind === 'spot'
        ? { ...base, q: target }
        : base.kind === 'percentile'
          ? { ...base, percentile: target }
          : base.kind === 'sigma'
            ? { ...base, k: target }
            : { ...base, factor: target };
  try {
    validateMethod(method);
  } catch (err) {
    throw new UsageError(`--target: ${errorMessage(err)}`, USAGE);
  }
  return method;
}

/** alerting.n of the stream (how many windows lead up to an alert), from the config when one is given. */
function alertWindows(config: Config | undefined, file: string | undefined, stream: string): number {
  const c = config ?? loadConfigText('{}', '<defaults>');
  if (config === undefined || file === undefined) return c.defaults.alerting.n;
  try {
    return resolveStream(config, file, stream).detection.alerting.n;
  } catch {
    return c.defaults.alerting.n;
  }
}
