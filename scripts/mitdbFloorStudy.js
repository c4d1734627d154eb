#!/usr/bin/env node
// Which quantile of the learning scores to take as each MIT-BIH record's error floor (calibration.robust.quantile
// of config/benchmarks/mitdb.yaml), chosen by leave-one-record-out, and which factor on it.
//
// Every record is learnt and replayed once through the daemon's path (offline/learnAndReplay, as `evaluate mitdb`
// does with the given config); each beat after the learning minutes takes its window's raw score, as
// `evaluate mitdb` judges it. For each candidate quantile q, every beat's score is divided by its record's q-th
// quantile of learning scores and the beats of all records are ranked together (pooled ROC AUC), as
// `evaluate mitdb` pools score / threshold; the factor does not change that ranking. Leave-one-record-out: for
// each record left out, the q with the best pooled AUC over the other records. Then, at the chosen q, pooled
// sensitivity and specificity for each factor.
//
// Run after `npm run build`:
//   node scripts/mitdbFloorStudy.js --data DIR [-c config/benchmarks/mitdb.yaml] [--json]
'use strict';
const path = require('node:path');
const { parseArgs } = require('node:util');

const root = path.resolve(__dirname, '..');
const dist = (p) => require(path.join(root, 'dist', p));
const QUANTILES = [0.05, 0.1, 0.15, 0.2, 0.25, 0.3];
const FACTORS = [1.5, 2, 2.5, 3, 4];
const LEARN_S = 300;

async function main() {
  const { values } = parseArgs({ options: { data: { type: 'string' }, config: { type: 'string', short: 'c' }, json: { type: 'boolean', default: false } } });
  if (!values.data) throw new Error('--data DIR is required (a folder of MIT-BIH <rec>.csv.gz and <rec>_beats.csv)');
  const { loadDetectionConfig } = dist('app/configFiles');
  const { learnAndReplay } = dist('offline/learnAndReplay');
  const { readMitdbRecord, readMitdbBeats, listMitdbRecords, MITDB_SAMPLE_RATE_HZ } = dist('eval/mitdb');
  const { BEAT_LAG_S, beatScores, recordSeries } = dist('eval/mitdbRun');
  const { rocAuc } = dist('eval/metrics');
  const { quantile } = dist('core/stats');
  const { selectBackend } = dist('model/backend');
  const detection = await loadDetectionConfig(values.config ?? path.join(root, 'config', 'benchmarks', 'mitdb.yaml'));
  const backend = await selectBackend();
  const learnSamples = LEARN_S * MITDB_SAMPLE_RATE_HZ;
  const records = [];
  for (const files of await listMitdbRecords(values.data)) {
    const rec = await readMitdbRecord(files.signal);
    const beats = await readMitdbBeats(files.beats);
    const { times, values: series } = recordSeries(rec);
    const replay = await learnAndReplay({ id: `mitdb/${files.record}`, channels: [...rec.leads] }, times, series, learnSamples, { detection, backend: backend.name, version: 'study' });
    // The beats `evaluate mitdb` judges, each with its window's raw score (a threshold of 1 leaves the score as it is).
    const judged = beatScores({ ...replay, threshold: new Float64Array(replay.score.length).fill(1) }, beats, learnSamples, Math.round(BEAT_LAG_S * MITDB_SAMPLE_RATE_HZ), detection.window.size);
    const learning = [];
    for (let r = 0; r < learnSamples && r < replay.score.length; r++) if (!Number.isNaN(replay.score[r])) learning.push(replay.score[r]);
    records.push({ record: files.record, scores: judged.scores, abnormal: judged.abnormal, floor: (q) => quantile(learning, q) });
    process.stderr.write(`${files.record}: ${judged.scores.length} beats\n`);
  }
  const pooledAuc = (q, leaveOut) => {
    const s = [];
    const a = [];
    for (const r of records) {
      if (r.record === leaveOut) continue;
      const z = r.floor(q);
      r.scores.forEach((v, i) => {
        s.push(v / z);
        a.push(r.abnormal[i]);
      });
    }
    return rocAuc(s, a);
  };
  const byQuantile = QUANTILES.map((q) => ({ quantile: q, pooled_auc: round(pooledAuc(q)) }));
  const chosen = records.map((r) => {
    const aucs = QUANTILES.map((q) => pooledAuc(q, r.record));
    const best = aucs.indexOf(Math.max(...aucs));
    return { left_out: r.record, quantile: QUANTILES[best], pooled_auc_others: round(aucs[best]) };
  });
  const votes = new Map();
  for (const c of chosen) votes.set(c.quantile, (votes.get(c.quantile) ?? 0) + 1);
  const q = [...votes.entries()].sort((x, y) => y[1] - x[1])[0][0];
  const factors = FACTORS.map((f) => {
    let tp = 0, fn = 0, tn = 0, fp = 0;
    for (const r of records) {
      const t = f * r.floor(q);
      r.scores.forEach((v, i) => {
        if (r.abnormal[i]) v > t ? tp++ : fn++;
        else v > t ? fp++ : tn++;
      });
    }
    return { factor: f, sensitivity: round(tp / (tp + fn)), specificity: round(tn / (tn + fp)) };
  });
  const report = { records: records.length, by_quantile: byQuantile, leave_one_out: chosen, chosen_quantile: q, factors_at_chosen: factors };
  if (values.json) process.stdout.write(`${JSON.stringify(report)}\n`);
  else {
    for (const b of byQuantile) process.stdout.write(`quantile ${b.quantile}: pooled AUC ${b.pooled_auc}\n`);
    process.stdout.write(`leave-one-record-out choice: ${[...votes.entries()].map(([k, n]) => `${k} (${n} records)`).join(', ')}\n`);
    for (const f of factors) process.stdout.write(`at quantile ${q}, factor ${f.factor}: sensitivity ${f.sensitivity} specificity ${f.specificity}\n`);
  }
}

function round(x) {
  return Math.round(x * 10000) / 10000;
}

main().catch((err) => {
  process.stderr.write(`${err.stack ?? err}\n`);
  process.exit(1);
});
