// `anomalyd evaluate mitdb --data DIR`: each MIT-BIH record as the continuous two-lead ECG stream the daemon
// would receive at 360 Hz. A detector learns from the record's first 5 minutes, then the whole record is
// streamed through the pipeline with a fake clock. Every annotated beat after the learning part takes the
// score of the first window that holds the beat and the lag after it (how soon a streaming detector can
// judge it); abnormal beats are the positive class. Scores are pooled over records as score / threshold, the
// scale on which each record's calibrated threshold is 1, so one ROC curve covers every record; that scale
// compares across records only when the calibration does (config/benchmarks/mitdb.yaml: method robust, a
// multiple of each record's clean error floor). `--pool p-value` ranks by each window's tail probability instead.
import * as path from 'node:path';
import { loadDetectionConfig } from '../app/configFiles';
import type { DetectionConfig } from '../config/schema';
import { InputError } from '../core/errors';
import { learnAndReplay } from '../offline/learnAndReplay';
import { rocAuc } from '../eval/metrics';
import { beatMetrics, leaveOneRecordOut, listMitdbRecords, MITDB_SAMPLE_RATE_HZ, readMitdbBeats, readMitdbRecord, type RecordBeats } from '../eval/mitdb';
import { BEAT_LAG_S, beatScores, recordSeries } from '../eval/mitdbRun';
import { selectBackend } from '../model/backend';
import { formatDuration, packageRoot, packageVersion, parseCommand, parseNumberOption, printJson, Progress, requireOption, round, UsageError } from './common';

const USAGE = `Usage: anomalyd evaluate mitdb --data DIR [-c FILE] [--learn-s S] [--pool ratio|p-value] [--json]

  --data DIR         folder of <rec>.csv.gz signals and <rec>_beats.csv annotations
  --learn-s S        seconds at the start of each record learned from (default 300, the protocol's 5 minutes)
  --pool KIND        how beats of different records are ranked together for the ROC AUC: ratio (default) =
                     score / calibrated threshold, the daemon's own decision scale; p-value = -log10 of the
                     window's tail probability under the record's learning scores
  -c, --config FILE  detection settings (default: config/benchmarks/mitdb.yaml of the package)
  --json             print one JSON object on stdout`;

/**
 * The settings for a record with these leads: a record without the lead the rhythm is tracked on (two of the 48
 * records, 102 and 104, have no MLII) is scored without the rhythm, said on stderr, rather than refused.
 */
function forLeads(detection: DetectionConfig, leads: readonly string[], record: string): DetectionConfig {
  const rhythm = detection.training.rhythm;
  if (!rhythm.enabled || leads.includes(rhythm.channel)) return detection;
  process.stderr.write(`Record ${record} has no lead ${rhythm.channel} (leads ${leads.join(', ')}): scored without the rhythm\n`);
  return { ...detection, training: { ...detection.training, rhythm: { ...rhythm, enabled: false } } };
}

export async function evaluateMitdbCommand(args: string[]): Promise<number> {
  const values = parseCommand(
    args,
    { data: { type: 'string' }, config: { type: 'string', short: 'c' }, 'learn-s': { type: 'string' }, pool: { type: 'string' } },
    USAGE,
  );
  if (!values) return 0;
  const data = requireOption(values.data, 'data', USAGE);
  const learnS = parseNumberOption(values['learn-s'], 'learn-s', USAGE) ?? 300;
  if (!(learnS > 0)) throw new UsageError(`--learn-s must be > 0 (got ${learnS})`, USAGE);
  const pool = values.pool ?? 'ratio';
  if (pool !== 'ratio' && pool !== 'p-value') throw new UsageError(`--pool must be ratio or p-value (got '${pool}')`, USAGE);
  const detection = await loadDetectionConfig(values.config ?? path.join(packageRoot(), 'config', 'benchmarks', 'mitdb.yaml'));
  const records = await listMitdbRecords(data);
  if (records.length === 0) throw new InputError(`${data}: no <rec>.csv.gz with a <rec>_beats.csv found`);
  const backend = await selectBackend();
  const progress = new Progress();
  const started = Date.now();
  const pooledScores: number[] = [];
  const pooledSurprise: number[] = [];
  const pooledAbnormal: boolean[] = [];
  const perRecord: RecordBeats[] = [];
  const perRecordFigures: { record: string; beats: number; abnormal_beats: number; roc_auc: number | null; sensitivity: number; specificity: number }[] = [];
  const learnSamples = Math.round(learnS * MITDB_SAMPLE_RATE_HZ);
  for (const [i, files] of records.entries()) {
    const what = `[${i + 1}/${records.length}] record ${files.record}`;
    const t0 = Date.now();
    const rec = await readMitdbRecord(files.signal);
    const beats = await readMitdbBeats(files.beats);
    if (rec.samples <= learnSamples) throw new InputError(`${files.signal}: ${rec.samples} samples, fewer than the ${learnSamples} to learn from`);
    const { times, values } = recordSeries(rec);
    const replay = await learnAndReplay({ id: `mitdb/${files.record}`, channels: [...rec.leads] }, times, values, learnSamples, {
      detection: forLeads(detection, rec.leads, files.record),
      backend: backend.name,
      version: packageVersion(),
      onEpoch: (e, n) => progress.update(`${what}: training epoch ${e}/${n}`),
    });
    const judged = beatScores(replay, beats, learnSamples, Math.round(BEAT_LAG_S * MITDB_SAMPLE_RATE_HZ), detection.window.size);
    pooledScores.push(...judged.scores);
    pooledSurprise.push(...judged.surprise);
    pooledAbnormal.push(...judged.abnormal);
    perRecord.push({ record: files.record, scores: pool === 'ratio' ? judged.scores : judged.surprise, abnormal: judged.abnormal });
    const m = beatMetrics(judged.scores, judged.abnormal, 1);
    perRecordFigures.push({
      record: files.record, beats: m.beats, abnormal_beats: m.abnormalBeats, roc_auc: Number.isNaN(m.rocAuc) ? null : round(m.rocAuc),
      sensitivity: round(m.sensitivity), specificity: round(m.specificity),
    });
    progress.done(
      `${what}: ${m.beats} beats (${m.abnormalBeats} abnormal), ROC AUC ${Number.isNaN(m.rocAuc) ? 'n/a' : m.rocAuc.toFixed(3)}, ` +
        `sensitivity ${m.sensitivity.toFixed(3)} specificity ${m.specificity.toFixed(3)} (${formatDuration(Date.now() - t0)})`,
    );
  }
  // Decisions are the daemon's: score / threshold > 1 is exactly "anomalous" for every record.
  const m = beatMetrics(pooledScores, pooledAbnormal, 1);
  const auc = pool === 'ratio' ? m.rocAuc : rocAuc(pooledSurprise, pooledAbnormal);
  // Per record beside the pooled figures (roc_auc null for a record without abnormal beats).
  const result = {
    dataset: 'mitdb', records: records.length, beats: m.beats, roc_auc: round(auc), sensitivity: round(m.sensitivity), specificity: round(m.specificity),
    per_record: perRecordFigures,
  };
  // How much a single record moves the pooled figure: the same command runs on records not in this folder.
  const loo = records.length >= 2 ? leaveOneRecordOut(perRecord).filter((r) => !Number.isNaN(r.rocAuc)) : [];
  if (loo.length > 0) {
    const lo = loo.reduce((a, b) => (b.rocAuc < a.rocAuc ? b : a));
    const hi = loo.reduce((a, b) => (b.rocAuc > a.rocAuc ? b : a));
    process.stderr.write(`Pooled ROC AUC with one record left out: ${lo.rocAuc.toFixed(4)} (without ${lo.record}) to ${hi.rocAuc.toFixed(4)} (without ${hi.record})\n`);
  }
  process.stderr.write(`Ran ${records.length} MIT-BIH records in ${formatDuration(Date.now() - started)} (backend ${backend.name})\n`);
  if (values.json) printJson(result);
  else {
    process.stdout.write(
      `MIT-BIH, ${result.records} records, ${result.beats} beats: ROC AUC ${result.roc_auc}  sensitivity ${result.sensitivity}  specificity ${result.specificity}\n`,
    );
  }
  return 0;
}
