// What report.html shows for a freshly trained model: loss curves, the clean-error histogram with the
// threshold, and a few windows (from typical to worst) drawn over their reconstructions.
import type { Window } from '../core/types';
import type { ExampleWindow, TrainingReportData } from '../eval/trainingReport';
import { transformOf } from '../model/channelReadings';
import type { Detector } from '../model/detector';
import type { TrainedDetector } from '../model/fitDetector';

const EXAMPLES: readonly (readonly [number, string])[] = [
  [0, 'lowest error'],
  [0.5, 'median error'],
  [0.9, '90th percentile'],
  [0.99, '99th percentile'],
  [1, 'highest error'],
];

export function buildReportData(detector: Detector, trained: TrainedDetector, windows: readonly Window[]): TrainingReportData {
  const m = detector.manifest;
  const { history, cleanScores } = trained;
  const n = m.training.noise;
  return {
    modelName: m.name,
    stream: m.stream,
    channels: [...m.channels],
    windowSize: m.window.size,
    hop: m.window.hop,
    layerSizes: [m.architecture.inputSize, ...m.architecture.encoderUnits, m.architecture.latentUnits],
    loss: m.training.loss,
    noise: `gaussian sigma ${n.gaussianSigma}, masking ${n.maskFraction}, salt-and-pepper ${n.saltPepperFraction}`,
    lossHistory: history.loss,
    valLossHistory: history.valLoss,
    bestEpoch: history.bestEpoch,
    threshold: detector.threshold,
    calibrationMethod: m.calibration ? describeMethod(m.calibration.method) : 'not calibrated',
    backend: m.backend,
    trainingSeconds: history.durationMs / 1000,
    nWindows: windows.length,
    calibrationErrors: cleanScores,
    examples: examples(detector, cleanScores, windows),
    transforms: m.channels.map((_, c) => transformOf(m, c)),
    createdAt: m.createdAt,
  };
}

function examples(detector: Detector, scores: readonly number[], windows: readonly Window[]): ExampleWindow[] {
  const order = scores.map((_, i) => i).sort((a, b) => scores[a] - scores[b]);
  const picked = new Map<number, string>();
  for (const [q, label] of EXAMPLES) {
    const i = order[Math.round(q * (order.length - 1))];
    if (!picked.has(i)) picked.set(i, label);
  }
  const indices = [...picked.keys()];
  // Input and reconstruction as the model sees them (transformed, scaled to [0, 1], clipped): every channel
  // fills the same axis, where raw units would leave all but the largest-valued channel a flat line. Not counted
  // as scaled input: these windows were counted when they were scored.
  const scaled = detector.toMatrix(indices.map((i) => windows[i]), false);
  const reconstructed = detector.scorer.reconstruct(scaled);
  const d = scaled.inputSize;
  return indices.map((wi, k) => ({
    input: Array.from(scaled.data.subarray(k * d, (k + 1) * d)),
    reconstruction: Array.from(reconstructed.subarray(k * d, (k + 1) * d)),
    channels: windows[wi].channels,
    score: scores[wi],
    label: `${picked.get(wi) ?? ''}, window ending ${new Date(windows[wi].end).toISOString()}`,
  }));
}

function describeMethod(method: { kind: string } & Record<string, unknown>): string {
  const params = Object.entries(method)
    .filter(([k]) => k !== 'kind')
    .map(([k, v]) => `${k} ${String(v)}`)
    .join(', ');
  return params ? `${method.kind} (${params})` : method.kind;
}
