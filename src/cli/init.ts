// `anomalyd init --csv FILE`: a starter config from a recording of the machine, the first step from "I have a
// CSV" to "my machine is watched". Channels come from the header, the sample period and time unit from the time
// column, the window from both (initPlan.ts); the text and its comments are initConfig.ts's.
import { existsSync } from 'node:fs';
import { readFile, writeFile } from 'node:fs/promises';
import * as path from 'node:path';
import { errorMessage, InputError } from '../core/errors';
import { readManifest } from '../model/artifact';
import { likelyTimeUnit, msPerTimeUnit, parseCsv, type CsvSeries, type TimeUnit } from '../sources/csv';
import { packageRoot, parseCommand, printJson, printWarnings, requireOption, UsageError } from './common';
import { defaultModelName, renderStarterConfig, type StarterConfig } from './initConfig';
import { checkChannelNames, planFromSeries, planWarnings, type InitPlan } from './initPlan';
import { timeUnitOption, timeUnitUsage } from './trainingData';

const USAGE = `Usage: anomalyd init --csv FILE [--stream ID] [--model DIR] [-o FILE [--force]] [options]

  --csv FILE          a recording of the machine: a header row, a time column (timestamp, ts, time, datetime or
                      time_s) and one column per channel
  --stream ID         stream id, e.g. line1/compressor1 (default: line1/<the CSV's file name>)
  --model DIR         bind the stream to this trained model (anomalyd train --out DIR); without it the stream
                      learns its own model from its first live windows (model: auto)
  -o, --out FILE      write the config here (default: print it on stdout)
  --force             overwrite an existing --out file
${timeUnitUsage(22)}
  --json              with -o: print one JSON object on stdout (what was inferred)`;

const STREAM_RE = /^[A-Za-z0-9][A-Za-z0-9_.:/-]{0,127}$/;

export async function initCommand(args: string[]): Promise<number> {
  const values = parseCommand(
    args,
    {
      csv: { type: 'string' },
      stream: { type: 'string' },
      model: { type: 'string' },
      out: { type: 'string', short: 'o' },
      force: { type: 'boolean', default: false },
      'time-unit': { type: 'string' },
    },
    USAGE,
  );
  if (!values) return 0;
  const csvArg = requireOption(values.csv, 'csv', USAGE);
  const out = values.out;
  if (values.json && out === undefined) throw new UsageError('--json needs -o FILE (without it the config itself is printed on stdout)', USAGE);
  if (values.force && out === undefined) throw new UsageError('--force only goes with -o FILE', USAGE);
  if (out !== undefined && existsSync(out) && !values.force) {
    throw new InputError(`${out} exists; give --force to overwrite it, or another -o FILE`);
  }

  const { series, timeUnitFrom } = await readRecording(csvArg, timeUnitOption(values['time-unit'], USAGE));
  checkChannelNames(series.channels, csvArg);
  const plan = planFromSeries(series, timeUnitFrom);
  const warnings = [...series.warnings, ...(values.model === undefined ? planWarnings(plan, csvArg) : [])];
  const model = values.model !== undefined ? await boundModel(values.model, plan.channels, out) : undefined;
  const stream = values.stream ?? model?.manifest.stream ?? `line1/${defaultModelName(path.parse(csvArg).name)}`;
  if (!STREAM_RE.test(stream)) {
    throw new UsageError(`--stream must be letters, digits and "_.:/-", starting with a letter or digit (got '${stream}')`, USAGE);
  }
  const config: StarterConfig = { plan, csvArg, outArg: out, stream, model, schemaFile: path.join(packageRoot(), 'config', 'schema.json') };
  const text = renderStarterConfig(config);
  printWarnings(warnings);
  if (out === undefined) {
    process.stdout.write(text);
    return 0;
  }
  await writeFile(out, text);
  const summary = {
    config: path.resolve(out),
    stream,
    channels: plan.channels,
    rows: plan.rows,
    time_column: plan.time?.column ?? null,
    time_unit: plan.time?.unit ?? null,
    sample_period_ms: plan.samplePeriodMs ?? null,
    window: model ? { size: model.manifest.window.size, hop: model.manifest.window.hop } : { size: plan.window.size, hop: plan.window.hop },
    training_windows: plan.trainingWindows,
    model: model ? { name: model.name, path: model.path } : 'auto',
    warnings,
  };
  if (values.json) printJson(summary);
  else {
    process.stdout.write(
      `Wrote ${out}: stream '${stream}', ${plan.channels.length} channel(s) (${plan.channels.join(', ')}), ` +
        `window ${summary.window.size} samples, hop ${summary.window.hop}` +
        `${plan.samplePeriodMs !== undefined ? `, a sample every ${plan.samplePeriodMs} ms` : ''}` +
        `${plan.time && plan.time.unit !== 'iso' ? ` (time column "${plan.time.column}" in ${plan.time.unit})` : ''}.\n` +
        `Next: anomalyd validate -c ${out}\n`,
    );
  }
  return 0;
}

/**
 * The recording, its numeric times read in `unit` when given; otherwise in the unit that dates them between
 * 2000 and 2100 (epoch seconds are the common surprise), falling back to the reader's default.
 */
async function readRecording(file: string, unit: TimeUnit | undefined): Promise<{ series: CsvSeries; timeUnitFrom: InitPlan['timeUnitFrom'] }> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (err) {
    throw new InputError(`${file}: cannot read file: ${errorMessage(err)}`);
  }
  if (unit !== undefined) return { series: parseCsv(text, file, { timeUnit: unit }), timeUnitFrom: 'given' };
  const series = parseCsv(text, file);
  const read = series.time?.unit;
  if (read === undefined || read === 'iso' || series.warnings.length === 0) return { series, timeUnitFrom: 'magnitude' };
  const perUnit = msPerTimeUnit(read);
  const likely = likelyTimeUnit(series.ts[0] / perUnit, series.ts[series.rows - 1] / perUnit);
  return likely ? { series: parseCsv(text, file, { timeUnit: likely }), timeUnitFrom: 'magnitude' } : { series, timeUnitFrom: 'default' };
}

/** The trained model at `dir`, checked against the recording's channels, with its path as the config will hold it. */
async function boundModel(dir: string, channels: readonly string[], out: string | undefined): Promise<StarterConfig['model']> {
  const manifest = await readManifest(dir);
  if (manifest.channels.join(',') !== channels.join(',')) {
    throw new InputError(
      `--model ${dir}: the model's channels [${manifest.channels.join(', ')}] differ from the recording's [${channels.join(', ')}] ` +
        '(names and order must match)',
    );
  }
  // Relative paths in a config are read from the config file's directory.
  const base = path.dirname(path.resolve(out ?? 'config.yaml'));
  const rel = path.relative(base, path.resolve(dir)).split(path.sep).join('/') || '.';
  return { name: defaultModelName(path.basename(path.resolve(dir))), path: rel, manifest };
}
