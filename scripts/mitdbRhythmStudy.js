#!/usr/bin/env node
// Which rhythm settings (training.rhythm of config/benchmarks/mitdb.yaml) and which error floor to ship for
// `evaluate mitdb`, chosen by leave-one-record-out (LORO) over the records of --data.
//
// Every record is learnt and replayed once through the daemon's path (offline/learnAndReplay with the given config
// and its rhythm off), keeping each window's raw reconstruction score; the rhythm does not change what the network
// learns, only the score, so each candidate is then applied to those scores: the same RhythmTracker the
// WindowBuffer runs (dist/core/rhythm) is fed the record's rhythm lead sample by sample, each window's score is
// multiplied by rhythmFactor(prematurity at its end), the floor is the quantile of the record's learning scores
// (joined or raw), and beats are judged as `evaluate mitdb` judges them (the earliest window holding the beat and
// 0.25 s after it, score / floor, pooled over records).
//
// Candidates: threshold fraction x history x refractory x exponent x late x floor-on x quantile. LORO: for each
// record left out, the candidate with the best pooled AUC on the others, and the floor factor with the best
// sensitivity + specificity there (Youden); that record's beats are then judged with that choice. Printed: the
// candidates ranked on all records, each fold's choice and its held-out figures, the votes, and the pooled
// held-out figures (each record judged by settings chosen without it).
//
// Run after `npm run build` (about 3 min to learn the 19 records on the native backend, then 10-15 min for the
// full grid; --cache DIR keeps the learnt scores for reruns):
//   node scripts/mitdbRhythmStudy.js --data DIR [-c config/benchmarks/mitdb.yaml] [--cache DIR]
//     [--fractions 0.15,0.2,0.25] [--histories 16,32,64] [--refractory 250,300,350,400] [--exponents 2,3,4]
//     [--lates lower,ignore] [--floor-on joined,raw] [--quantiles 0.15,0.2,0.25]
'use strict';
const fs = require('node:fs');
const path = require('node:path');
const { parseArgs } = require('node:util');

const root = path.resolve(__dirname, '..');
const dist = (p) => require(path.join(root, 'dist', p));
const LEARN_S = 300;
const FACTORS = Array.from({ length: 39 }, (_, i) => Math.round((1.2 + 0.1 * i) * 10) / 10);

async function main() {
  const { values } = parseArgs({
    options: {
      data: { type: 'string' }, config: { type: 'string', short: 'c' }, cache: { type: 'string' },
      fractions: { type: 'string', default: '0.15,0.2,0.25' }, histories: { type: 'string', default: '16,32,64' },
      refractory: { type: 'string', default: '250,300,350,400' }, exponents: { type: 'string', default: '2,3,4' },
      lates: { type: 'string', default: 'lower,ignore' }, 'floor-on': { type: 'string', default: 'joined,raw' },
      quantiles: { type: 'string', default: '0.15,0.2,0.25' },
    },
  });
  if (!values.data) throw new Error('--data DIR is required (a folder of MIT-BIH <rec>.csv.gz and <rec>_beats.csv)');
  const nums = (s) => s.split(',').map(Number);
  const { loadDetectionConfig } = dist('app/configFiles');
  const { learnAndReplay } = dist('offline/learnAndReplay');
  const { readMitdbRecord, readMitdbBeats, listMitdbRecords, beatWindows, MITDB_SAMPLE_RATE_HZ } = dist('eval/mitdb');
  const { BEAT_LAG_S, recordSeries } = dist('eval/mitdbRun');
  const { RhythmTracker, rhythmFactor } = dist('core/rhythm');
  const { rocAuc } = dist('eval/metrics');
  const { quantile } = dist('core/stats');
  const { selectBackend } = dist('model/backend');
  const configured = await loadDetectionConfig(values.config ?? path.join(root, 'config', 'benchmarks', 'mitdb.yaml'));
  const rhythmCfg = configured.training.rhythm;
  const detection = { ...configured, training: { ...configured.training, rhythm: { ...rhythmCfg, enabled: false } } };
  const backend = await selectBackend();
  const learnSamples = LEARN_S * MITDB_SAMPLE_RATE_HZ;
  const periodMs = 1000 / MITDB_SAMPLE_RATE_HZ;
  const records = [];
  for (const files of await listMitdbRecords(values.data)) {
    const rec = await readMitdbRecord(files.signal);
    const beats = await readMitdbBeats(files.beats);
    const cached = values.cache && path.join(values.cache, `${files.record}.json`);
    let learnt;
    if (cached && fs.existsSync(cached)) learnt = JSON.parse(fs.readFileSync(cached, 'utf8'));
    else {
      const { times, values: series } = recordSeries(rec);
      const replay = await learnAndReplay({ id: `mitdb/${files.record}`, channels: [...rec.leads] }, times, series, learnSamples, { detection, backend: backend.name, version: 'study' });
      learnt = { ends: [], scores: [] };
      for (let r = 0; r < replay.score.length; r++) if (!Number.isNaN(replay.score[r])) (learnt.ends.push(r), learnt.scores.push(replay.score[r]));
      if (cached) (fs.mkdirSync(values.cache, { recursive: true }), fs.writeFileSync(cached, JSON.stringify(learnt)));
    }
    const which = beatWindows(beats.sample, learnt.ends, detection.window.size, Math.round(BEAT_LAG_S * MITDB_SAMPLE_RATE_HZ));
    const judged = [];
    const abnormal = [];
    for (let b = 0; b < which.length; b++) {
      if (which[b] < 0 || beats.sample[b] < learnSamples) continue;
      judged.push(which[b]);
      abnormal.push(beats.abnormal[b] === 1);
    }
    const learning = [];
    learnt.ends.forEach((end, i) => end < learnSamples && learning.push(i));
    const lead = rec.leads.indexOf(rhythmCfg.channel);
    records.push({ record: files.record, ends: learnt.ends, raw: learnt.scores, lead: lead >= 0 ? (lead === 0 ? rec.lead1 : rec.lead2) : null, judged, abnormal, learning });
    process.stderr.write(`${files.record}: ${judged.length} beats\n`);
  }

  // Per tracker candidate and record, the prematurity at each window's end, as the WindowBuffer reads it.
  const candidates = [];
  for (const fraction of nums(values.fractions)) for (const history of nums(values.histories)) for (const refractory of nums(values.refractory)) {
    const prematurity = records.map((r) => {
      const p = new Float64Array(r.ends.length).fill(1);
      if (!r.lead) return p;
      const tracker = new RhythmTracker({ channel: 0, slopeSteps: rhythmCfg.slope_samples, smoothingSteps: rhythmCfg.smoothing_samples, thresholdFraction: fraction, peakHalfLifeMs: rhythmCfg.peak_half_life_ms, refractoryMs: refractory, historyEvents: history });
      const sample = [0];
      for (let s = 0, k = 0; s < r.lead.length && k < r.ends.length; s++) {
        sample[0] = r.lead[s];
        tracker.push(s * periodMs, sample);
        while (k < r.ends.length && r.ends[k] === s) p[k++] = tracker.prematurity();
      }
      return p;
    });
    for (const exponent of nums(values.exponents)) for (const late of values.lates.split(',')) for (const on of values['floor-on'].split(',')) for (const q of nums(values.quantiles)) {
      const perRecord = records.map((r, i) => {
        const joined = r.raw.map((x, w) => x * rhythmFactor(prematurity[i][w], { exponent, late }));
        const floor = quantile(r.learning.map((w) => (on === 'joined' ? joined : r.raw)[w]), q);
        return { scores: r.judged.map((w) => joined[w] / floor), abnormal: r.abnormal };
      });
      candidates.push({ name: `fraction ${fraction} history ${history} refractory ${refractory} exponent ${exponent} late ${late} floor on ${on} quantile ${q}`, perRecord });
    }
  }
  process.stderr.write(`${candidates.length} candidates\n`);
  const pool = (perRecord, leaveOut) => {
    const scores = [];
    const abnormal = [];
    perRecord.forEach((r, i) => i !== leaveOut && (scores.push(...r.scores), abnormal.push(...r.abnormal)));
    return { scores, abnormal };
  };
  const rates = (scores, abnormal, t) => {
    let tp = 0, fn = 0, tn = 0, fp = 0;
    scores.forEach((s, i) => (abnormal[i] ? (s > t ? tp++ : fn++) : s > t ? fp++ : tn++));
    return { sensitivity: tp / (tp + fn), specificity: tn / (tn + fp) };
  };
  const youden = (scores, abnormal) => FACTORS.map((f) => ({ factor: f, ...rates(scores, abnormal, f) })).reduce((a, b) => (b.sensitivity + b.specificity > a.sensitivity + a.specificity ? b : a));
  const ranked = candidates.map((c) => {
    const { scores, abnormal } = pool(c.perRecord, -1);
    return { name: c.name, auc: rocAuc(scores, abnormal), ...youden(scores, abnormal) };
  }).sort((a, b) => b.auc - a.auc);
  process.stdout.write('All records (in-sample), best 15 by pooled AUC, with the sensitivity + specificity factor:\n');
  for (const c of ranked.slice(0, 15)) process.stdout.write(`  ${c.name}: AUC ${c.auc.toFixed(4)}, factor ${c.factor}: sensitivity ${c.sensitivity.toFixed(4)} specificity ${c.specificity.toFixed(4)}\n`);
  const heldScores = [];
  const heldAbnormal = [];
  const votes = new Map();
  process.stdout.write('Leave one record out (choice on the others; the record left out judged with it):\n');
  records.forEach((r, k) => {
    let best;
    for (const c of candidates) {
      const { scores, abnormal } = pool(c.perRecord, k);
      const auc = rocAuc(scores, abnormal);
      if (!best || auc > best.auc) best = { c, auc, scores, abnormal };
    }
    const { factor } = youden(best.scores, best.abnormal);
    const held = best.c.perRecord[k];
    const m = rates(held.scores, held.abnormal, factor);
    heldScores.push(...held.scores.map((s) => s / factor));
    heldAbnormal.push(...held.abnormal);
    const key = `${best.c.name}, factor ${factor}`;
    votes.set(key, (votes.get(key) ?? 0) + 1);
    process.stdout.write(`  without ${r.record}: ${key} (AUC of the others ${best.auc.toFixed(4)}); ${r.record}: sensitivity ${m.sensitivity.toFixed(3)} specificity ${m.specificity.toFixed(3)}\n`);
  });
  process.stdout.write('Choices:\n');
  for (const [k, n] of [...votes.entries()].sort((a, b) => b[1] - a[1])) process.stdout.write(`  ${n} of ${records.length}: ${k}\n`);
  const m = rates(heldScores, heldAbnormal, 1);
  process.stdout.write(`Held out, pooled (each record judged by settings chosen without it): AUC ${rocAuc(heldScores, heldAbnormal).toFixed(4)}, sensitivity ${m.sensitivity.toFixed(4)}, specificity ${m.specificity.toFixed(4)}\n`);
}

main().catch((err) => {
  process.stderr.write(`${err.stack ?? err}\n`);
  process.exit(1);
});
