// `anomalyd train`: learn a stream's normal behaviour from clean recorded data. Writes the model artifact
// (model.json, weights.bin, manifest.json) and report.html beside it, calibrated on the training windows with
// the configured method (`anomalyd calibrate` can recalibrate on other clean data later).
import { writeFile } from 'node:fs/promises';
import * as path from 'node:path';
import { loadConfig } from '../app/configFiles';
import { detectorSpec, resolveStream } from '../app/detection';
import { modeSelection, modeUsage, recordedWindows, timeUnitUsage, timeUnitOption, trainingSource } from './trainingData';
import { backendPreference } from '../app/backend';
import { calibrationWarnings, exceedFraction } from '../core/calibration';
import { InputError } from '../core/errors';
import { selectBackend } from '../model/backend';
import { saveArtifact } from '../model/artifact';
import { trainDetector } from '../model/fitDetector';
import { buildReportData } from './reportData';
import { renderTrainingReport } from '../eval/trainingReport';
import { formatDuration, formatPercent, packageVersion, parseCommand, printJson, printWarnings, Progress, requireOption, round } from './common';

const USAGE = `Usage: anomalyd train -c FILE --stream ID (--input CSV [--input CSV ...] | --influx-query Q) --out DIR [options]

  -c, --config FILE   config naming the stream (its channels and detection settings)
  --stream ID         stream id, e.g. line1/pump3
  --input CSV         clean recorded data (header row; optional timestamp column); repeatable
  --influx-query Q    InfluxQL returning time and the stream's channels as columns, e.g.
                      "SELECT vib_x_rms, ... FROM pumps WHERE asset = 'pump3' AND time > now() - 14d";
                      windows overlapping the stream's alerts (anomaly_alert) are left out
  --influx-url URL    InfluxDB to query, http://host:8086/<database> (default: sinks.influx of the config)
  --out DIR           model directory to write
  --name NAME         model name recorded in the manifest (default: the directory name)
  --no-report         do not write report.html
${timeUnitUsage(22)}
${modeUsage(22)}
  --json              print one JSON object on stdout`;

export async function trainCommand(args: string[]): Promise<number> {
  const values = parseCommand(
    args,
    {
      config: { type: 'string', short: 'c' },
      stream: { type: 'string' },
      input: { type: 'string', multiple: true },
      'influx-query': { type: 'string' },
      'influx-url': { type: 'string' },
      out: { type: 'string' },
      name: { type: 'string' },
      'no-report': { type: 'boolean', default: false },
      'time-unit': { type: 'string' },
      mode: { type: 'string' },
    },
    USAGE,
  );
  if (!values) return 0;
  const configFile = requireOption(values.config, 'config', USAGE);
  const streamId = requireOption(values.stream, 'stream', USAGE);
  const source = trainingSource(values.input, values['influx-query'], values['influx-url'], USAGE, timeUnitOption(values['time-unit'], USAGE));
  const out = requireOption(values.out, 'out', USAGE);

  const config = await loadConfig(configFile);
  const { stream, detection } = resolveStream(config, configFile, streamId);
  const name = values.name ?? path.basename(path.resolve(out));
  const spec = detectorSpec(detection, name, stream, '', packageVersion());
  const recorded = await recordedWindows(source, config, stream, spec.window, detection.alerting.n, modeSelection(config, stream, values.mode, USAGE));
  if (recorded.windows.length < 2) {
    throw new InputError(
      `${recorded.from}: ${recorded.samples} samples give ${recorded.windows.length} complete window(s) of ${spec.window.size}` +
        `${recorded.excluded ? ` after leaving out ${recorded.excluded} in alert periods` : ''}; at least 2 are needed to train`,
    );
  }
  const backend = await selectBackend(backendPreference(config.inference.backend));
  process.stderr.write(`Training '${name}' for stream '${stream.id}' on ${recorded.windows.length} windows (backend ${backend.name})\n`);

  const progress = new Progress();
  const trained = await trainDetector(recorded.windows, { ...spec, backend: backend.name }, (e) => {
    const eta = (e.elapsedMs / e.epoch) * (e.epochs - e.epoch);
    const val = e.valLoss === undefined ? '' : `  val_loss ${e.valLoss.toFixed(5)}`;
    progress.update(`epoch ${e.epoch}/${e.epochs}  loss ${e.loss.toFixed(5)}${val}  ETA <= ${formatDuration(eta)}`);
  });
  const { detector, history } = trained;
  progress.done(
    `Trained ${history.epochsRun} epoch(s) in ${formatDuration(history.durationMs)}; kept epoch ${history.bestEpoch}` +
      (history.stoppedEarly ? ' (early stop)' : ''),
  );
  await saveArtifact(out, detector.model, detector.manifest);
  const reportFile = path.join(out, 'report.html');
  if (!values['no-report']) {
    await writeFile(reportFile, renderTrainingReport(buildReportData(detector, trained, recorded.windows)));
  }
  const m = detector.manifest;
  // The threshold was fitted on the training windows' own scores: flagging many of them is a wrong setting.
  const exceed = m.calibration ? exceedFraction(trained.cleanScores, m.calibration.threshold) : null;
  const warnings = m.calibration ? calibrationWarnings(trained.cleanScores, m.calibration) : [];
  const result = {
    model: path.resolve(out),
    stream: stream.id,
    channels: m.channels,
    source: source.kind,
    samples: recorded.samples,
    windows: recorded.windows.length,
    insufficient_windows: recorded.insufficient,
    excluded_windows: recorded.excluded,
    alert_periods: recorded.alertPeriods,
    epochs_run: history.epochsRun,
    best_epoch: history.bestEpoch,
    loss: round(m.training.finalLoss, 6),
    val_loss: m.training.finalValLoss === null ? null : round(m.training.finalValLoss, 6),
    threshold: round(detector.threshold, 6),
    calibration: m.calibration?.method.kind ?? null,
    exceed_fraction: exceed === null ? null : round(exceed, 6),
    clipped_fraction: round(m.training.clippedFraction, 6),
    backend: backend.name,
    duration_s: round(history.durationMs / 1000, 2),
    report: values['no-report'] ? null : path.resolve(reportFile),
    warnings: [...recorded.warnings, ...warnings],
  };
  detector.dispose();
  printWarnings(warnings);
  if (values.json) printJson(result);
  else {
    const flags = exceed === null ? '' : `, flags ${formatPercent(exceed)} of the training windows`;
    process.stdout.write(`Model written to ${result.model} (threshold ${result.threshold}${flags}${result.report ? `, report ${result.report}` : ''})\n`);
  }
  return 0;
}
