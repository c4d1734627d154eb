// The report.html written next to a trained model: one self-contained page (inline CSS and SVG, no scripts,
// no external assets) so it can be attached to a ticket or opened from a file share.
import { escapeXml as esc, histogram, linePlot, PALETTE, type Series } from './svg';

/**
 * One window drawn over its reconstruction, both as the model sees them: each channel scaled to [0, 1] by the
 * model's scaler (after its window transform, if any), so a channel in rpm and one in bar share one axis.
 * Values are time-major interleaved: index t * channels + c.
 */
export interface ExampleWindow {
  input: number[];
  reconstruction: number[];
  channels: number;
  score: number;
  /** Optional caption, e.g. "first calibration window" or a timestamp. */
  label?: string;
}

export interface TrainingReportData {
  modelName: string;
  stream: string;
  channels: string[];
  windowSize: number;
  hop: number;
  /** Encoder layer sizes from input to bottleneck, e.g. [140, 64, 16]. */
  layerSizes: number[];
  /** Loss function name, e.g. "mse". */
  loss: string;
  /** Input corruption, as shown to the reader, e.g. "gaussian std 0.1". */
  noise: string;
  /** Training loss per epoch (epoch 1 first). The number of entries is the number of epochs run. */
  lossHistory: number[];
  /** Validation loss per epoch; may be empty when no validation split was used. */
  valLossHistory: number[];
  /** 1-based epoch whose weights were kept; default: the epoch with the lowest val loss (else loss). */
  bestEpoch?: number;
  threshold: number;
  calibrationMethod: string;
  backend: string;
  trainingSeconds: number;
  /** Number of training windows. */
  nWindows: number;
  /** Reconstruction errors of the clean calibration windows. */
  calibrationErrors: number[];
  /** Up to 6 are drawn. */
  examples: ExampleWindow[];
  /** The window transform of each channel ('none', 'demean', 'diff'), named in its panel; absent: none. */
  transforms?: string[];
  /** ISO time the model was created; shown in the header when given. */
  createdAt?: string;
  /** Log-scaled loss axis; default: when the losses span more than a factor of 20. */
  logLoss?: boolean;
}

const MAX_EXAMPLES = 6;

export function renderTrainingReport(r: TrainingReportData): string {
  const best = r.bestEpoch ?? defaultBestEpoch(r);
  const title = `Training report: ${r.modelName}`;
  return `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${esc(title)}</title>
<style>
body { font-family: sans-serif; margin: 24px; color: #222; max-width: 1200px; }
h1 { font-size: 20px; } h2 { font-size: 16px; margin-top: 28px; }
table.summary { border-collapse: collapse; font-size: 13px; }
table.summary th, table.summary td { border: 1px solid #ddd; padding: 4px 10px; text-align: left; }
table.summary th { background: #f5f5f5; font-weight: normal; color: #555; }
.examples { display: flex; flex-direction: column; gap: 18px; }
.panels { display: flex; flex-wrap: wrap; gap: 4px; }
figure { margin: 0; } figcaption { font-size: 12px; color: #444; margin-bottom: 4px; }
.key { font-size: 11px; color: #444; } .swatch { display: inline-block; width: 16px; height: 0; vertical-align: middle; margin: 0 3px 0 8px; }
.note { color: #777; font-size: 13px; }
</style>
</head>
<body>
<h1>${esc(title)}</h1>
${r.createdAt ? `<p class="note">Created ${esc(r.createdAt)}</p>` : ''}
<h2>Summary</h2>
${summaryTable(r, best)}
<h2>Loss per epoch</h2>
${lossPlot(r, best)}
<h2>Reconstruction error of clean calibration windows</h2>
${errorHistogram(r)}
<h2>Example windows and their reconstructions</h2>
${examples(r)}
</body>
</html>
`;
}

function summaryTable(r: TrainingReportData, best: number | undefined): string {
  const last = (a: number[]): number | undefined => (a.length > 0 ? a[a.length - 1] : undefined);
  const rows: [string, string][] = [
    ['Model', r.modelName],
    ['Stream', r.stream],
    ['Channels', `${r.channels.length}: ${r.channels.join(', ')}`],
    ['Window size / hop', `${r.windowSize} / ${r.hop} samples`],
    ['Layer sizes', r.layerSizes.join(' → ')],
    ['Loss', r.loss],
    ['Noise', r.noise],
    ['Epochs run', String(r.lossHistory.length)],
    ['Best epoch', best === undefined ? '–' : String(best)],
    ['Final loss', fmt(last(r.lossHistory))],
    ['Final validation loss', fmt(last(r.valLossHistory))],
    ['Threshold', fmt(r.threshold)],
    ['Calibration method', r.calibrationMethod],
    ['Calibration windows', String(r.calibrationErrors.length)],
    ['Backend', r.backend],
    ['Training time', `${fmt(r.trainingSeconds)} s`],
    ['Training windows', String(r.nWindows)],
  ];
  const body = rows.map(([k, v]) => `<tr><th>${esc(k)}</th><td>${esc(v)}</td></tr>`).join('\n');
  return `<table class="summary">\n${body}\n</table>`;
}

function lossPlot(r: TrainingReportData, best: number | undefined): string {
  const epochs = (n: number): number[] => Array.from({ length: n }, (_, i) => i + 1);
  const series: Series[] = [{ name: 'loss', x: epochs(r.lossHistory.length), y: r.lossHistory, color: PALETTE[0] }];
  if (r.valLossHistory.length > 0) {
    series.push({ name: 'validation loss', x: epochs(r.valLossHistory.length), y: r.valLossHistory, color: PALETTE[3] });
  }
  const all = [...r.lossHistory, ...r.valLossHistory].filter((v) => Number.isFinite(v));
  const positive = all.length > 0 && all.every((v) => v > 0);
  const logY = positive && (r.logLoss ?? Math.max(...all) / Math.min(...all) > 20);
  return linePlot({
    series,
    width: 640,
    height: 320,
    title: `${r.loss} loss${logY ? ' (log scale)' : ''}`,
    xLabel: 'epoch',
    yLabel: 'loss',
    logY,
    integerX: true,
    legend: true,
    markers: best === undefined ? [] : [{ x: best, label: `best epoch ${best}`, color: '#2ca02c' }],
  });
}

function errorHistogram(r: TrainingReportData): string {
  const n = r.calibrationErrors.length;
  const above = r.calibrationErrors.filter((e) => e > r.threshold).length;
  const svg = histogram({
    values: r.calibrationErrors,
    width: 640,
    height: 320,
    title: `${n} clean windows, ${above} above the threshold`,
    xLabel: 'reconstruction error',
    yLabel: 'windows',
    markers: [{ x: r.threshold, label: `threshold ${fmt(r.threshold)} (${r.calibrationMethod})`, color: '#d62728' }],
  });
  return svg;
}

function examples(r: TrainingReportData): string {
  const shown = r.examples.slice(0, MAX_EXAMPLES);
  if (shown.length === 0) return '<p class="note">No example windows were recorded.</p>';
  const figs = shown.map((ex, i) => exampleFigure(r, ex, i));
  const more = r.examples.length > MAX_EXAMPLES ? `<p class="note">${r.examples.length - MAX_EXAMPLES} more not shown.</p>` : '';
  const key = `${swatch(PALETTE[0], false)}input${swatch(RECONSTRUCTION_COLOR, true)}reconstruction`;
  return (
    '<p class="note">One panel per channel, each on the scale the model works in: 0 and 1 are the ends of the channel\'s ' +
    `training range, widened by the scale margin (values beyond it are clipped to the edge, as the model sees them).</p>\n<div class="key">${key}</div>\n` +
    `<div class="examples">\n${figs.join('\n')}\n</div>${more}`
  );
}

/** Dark grey, so a channel's reconstruction reads as "the model" in every panel whatever the channel's colour. */
const RECONSTRUCTION_COLOR = '#555';

function swatch(color: string, dashed: boolean): string {
  return `<span class="swatch" style="border-top:2px ${dashed ? 'dashed' : 'solid'} ${color}"></span>`;
}

/** Small multiples: a panel per channel, all on [0, 1], so a channel in rpm does not flatten one in bar. */
function exampleFigure(r: TrainingReportData, ex: ExampleWindow, i: number): string {
  const ch = ex.channels;
  const verdict = ex.score > r.threshold ? 'above threshold' : 'below threshold';
  const caption = `Example ${i + 1}, ${ex.label ? `${ex.label}: ` : ''}score ${fmt(ex.score)} (${verdict})`;
  if (!(Number.isInteger(ch) && ch > 0) || ex.input.length % ch !== 0 || ex.input.length !== ex.reconstruction.length) {
    return `<figure><p class="note">Example ${i + 1} is malformed (${ex.input.length} input and ${ex.reconstruction.length} reconstruction values for ${ch} channel(s)).</p><figcaption>${esc(caption)}</figcaption></figure>`;
  }
  const names = r.channels.length === ch ? r.channels : Array.from({ length: ch }, (_, c) => `channel ${c + 1}`);
  const panels: string[] = [];
  for (let c = 0; c < ch; c++) {
    const transform = r.transforms?.[c];
    const title = transform && transform !== 'none' ? `${names[c]} (${transform})` : names[c];
    const series: Series[] = [
      { name: `${names[c]} input`, y: deinterleave(ex.input, ch, c), color: PALETTE[c % PALETTE.length] },
      { name: `${names[c]} reconstruction`, y: deinterleave(ex.reconstruction, ch, c), color: RECONSTRUCTION_COLOR, dashed: true },
    ];
    panels.push(linePlot({ series, width: 250, height: 160, title, xLabel: 'time step', integerX: true, legend: false, yRange: [0, 1] }));
  }
  return `<figure>\n<figcaption>${esc(caption)}</figcaption>\n<div class="panels">\n${panels.join('\n')}\n</div></figure>`;
}

function deinterleave(values: number[], channels: number, c: number): number[] {
  const out: number[] = [];
  for (let i = c; i < values.length; i += channels) out.push(values[i]);
  return out;
}

function defaultBestEpoch(r: TrainingReportData): number | undefined {
  const h = r.valLossHistory.length > 0 ? r.valLossHistory : r.lossHistory;
  let best: number | undefined;
  for (let i = 0; i < h.length; i++) if (Number.isFinite(h[i]) && (best === undefined || h[i] < h[best - 1])) best = i + 1;
  return best;
}

function fmt(v: number | undefined): string {
  if (v === undefined) return '–';
  if (!Number.isFinite(v)) return String(v);
  if (Number.isInteger(v)) return String(v);
  const a = Math.abs(v);
  if (a !== 0 && (a < 1e-3 || a >= 1e6)) return v.toExponential(3);
  return String(Number(v.toPrecision(4)));
}
