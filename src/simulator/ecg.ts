// A synthetic single-lead ECG (millivolts) as a pure function of (asset seed, time), in the spirit of ECGSYN
// (McSharry et al., 2003): each beat is a sum of Gaussian waves P, Q, R, S, T placed relative to the R peak.
// Beat k's R peak is at k * RR + respiratory sinus arrhythmia + a small random jitter, so heart-rate variability is
// realistic and any time can be computed without replaying earlier beats. Baseline wander (breathing), 50 Hz mains
// pickup and white noise are added. Faults: `pvc` makes every third beat in the fault window premature (30 % of
// an RR interval early), wide, tall and with a discordant T wave, followed by the compensatory pause; `missed_beat`
// drops the QRS and T of every fourth beat (a P wave with no ventricular response).
import { createRng } from '../core/random';
import type { Sample } from '../core/types';
import { isActive, type SimFault } from './faults';
import { gaussianAt, uniformAt, valueNoise } from './noise';

export const ECG_CHANNELS = ['ecg_mv'] as const;
export const ECG_RATE_HZ = 250;

interface Wave {
  readonly at: number;
  readonly amp: number;
  readonly width: number;
}

interface EcgParams {
  readonly seed: number;
  readonly rr: number;
  readonly respPeriod: number;
  readonly respPhase: number;
  readonly normal: readonly Wave[];
  readonly pvc: readonly Wave[];
  readonly pOnly: readonly Wave[];
}

const cache = new Map<number, EcgParams>();

function params(seed: number): EcgParams {
  let p = cache.get(seed);
  if (p) return p;
  const r = createRng(seed);
  const between = (lo: number, hi: number): number => lo + (hi - lo) * r();
  const rr = 60 / between(60, 78);
  const rAmp = between(0.9, 1.4);
  // The QT interval shortens with heart rate (Bazett): the T wave sits at about 0.3 * sqrt(RR) after R.
  const tAt = 0.3 * Math.sqrt(rr);
  const pWave: Wave = { at: -0.2, amp: between(0.1, 0.18), width: 0.025 };
  p = {
    seed,
    rr,
    respPeriod: between(3.5, 6),
    respPhase: between(0, 2 * Math.PI),
    normal: [pWave, { at: -0.035, amp: -0.12, width: 0.01 }, { at: 0, amp: rAmp, width: 0.011 }, { at: 0.035, amp: -0.25, width: 0.011 }, { at: tAt, amp: between(0.25, 0.4), width: 0.05 }],
    pvc: [{ at: 0, amp: 1.5 * rAmp, width: 0.035 }, { at: 0.07, amp: -0.55, width: 0.04 }, { at: tAt + 0.06, amp: -0.45, width: 0.07 }],
    pOnly: [pWave],
  };
  if (cache.size > 10_000) cache.clear();
  cache.set(seed, p);
  return p;
}

/** R-peak time (s) of beat k, without faults. */
function beatTime(p: EcgParams, k: number): number {
  const rsa = 0.04 * Math.sin((2 * Math.PI * k * p.rr) / p.respPeriod + p.respPhase);
  return k * p.rr + rsa + 0.03 * (uniformAt(p.seed, 11, k) - 0.5);
}

function beatWaves(p: EcgParams, k: number, t0: number, faults: readonly SimFault[]): { at: number; waves: readonly Wave[] } {
  const tMs = t0 * 1000;
  for (const f of faults) {
    if (!isActive(f, tMs)) continue;
    if (f.kind === 'pvc' && k % 3 === 0) return { at: t0 - 0.3 * p.rr, waves: p.pvc };
    if (f.kind === 'missed_beat' && k % 4 === 0) return { at: t0, waves: p.pOnly };
  }
  return { at: t0, waves: p.normal };
}

function ecgAt(p: EcgParams, tMs: number, faults: readonly SimFault[]): number {
  const t = tMs / 1000;
  const k0 = Math.floor(t / p.rr);
  let v = 0;
  for (let k = k0 - 1; k <= k0 + 2; k++) {
    const beat = beatWaves(p, k, beatTime(p, k), faults);
    for (const w of beat.waves) {
      const d = t - beat.at - w.at;
      if (Math.abs(d) < 5 * w.width) v += w.amp * Math.exp((-d * d) / (2 * w.width * w.width));
    }
  }
  const key = Math.round(tMs * 1000);
  v += 0.06 * Math.sin((2 * Math.PI * t) / p.respPeriod + p.respPhase) + 0.03 * valueNoise(p.seed ^ 0xbead, t / 3);
  v += 0.004 * Math.sin(2 * Math.PI * 50 * t) + 0.012 * gaussianAt(p.seed, 12, key);
  return v;
}

/** `count` single-channel ECG samples (mV) from fromMs at rateHz. `faults` are this asset's faults. */
export function ecgSamples(assetSeed: number, fromMs: number, count: number, rateHz = ECG_RATE_HZ, faults: readonly SimFault[] = []): Sample[] {
  const p = params(assetSeed >>> 0);
  const values = new Float64Array(count);
  const samples: Sample[] = [];
  const period = 1000 / rateHz;
  for (let i = 0; i < count; i++) {
    const ts = fromMs + i * period;
    values[i] = ecgAt(p, ts, faults);
    samples.push({ ts, values: values.subarray(i, i + 1) });
  }
  return samples;
}

/** R-peak times (ms) of the beats in [fromMs, toMs) with their kind: a reference for tests and evaluation. */
export function ecgBeats(assetSeed: number, fromMs: number, toMs: number, faults: readonly SimFault[] = []): { ms: number; kind: 'normal' | 'pvc' | 'missed' }[] {
  const p = params(assetSeed >>> 0);
  const out: { ms: number; kind: 'normal' | 'pvc' | 'missed' }[] = [];
  for (let k = Math.floor(fromMs / 1000 / p.rr) - 1; k <= Math.ceil(toMs / 1000 / p.rr) + 1; k++) {
    const beat = beatWaves(p, k, beatTime(p, k), faults);
    const ms = beat.at * 1000;
    if (ms < fromMs || ms >= toMs) continue;
    out.push({ ms, kind: beat.waves === p.pvc ? 'pvc' : beat.waves === p.pOnly ? 'missed' : 'normal' });
  }
  return out;
}
