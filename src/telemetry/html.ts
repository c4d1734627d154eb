// Small HTML helpers for the status page: escaping (stream names, topics and details come from the network),
// number and time formatting, and an inline SVG sparkline so the page needs no script and no external asset.

export function esc(s: string): string {
  return s.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c] ?? c);
}

/** Four significant digits, plain or exponential as JavaScript prefers; '–' for missing. */
export function num(x: number | null): string {
  if (x === null) return '–';
  if (!Number.isFinite(x)) return String(x);
  return String(Number(x.toPrecision(4)));
}

export function duration(ms: number): string {
  let s = Math.max(0, Math.floor(ms / 1000));
  const d = Math.floor(s / 86400);
  s -= d * 86400;
  const h = Math.floor(s / 3600);
  s -= h * 3600;
  const m = Math.floor(s / 60);
  s -= m * 60;
  if (d > 0) return `${d}d ${h}h ${m}m`;
  if (h > 0) return `${h}h ${m}m ${s}s`;
  return m > 0 ? `${m}m ${s}s` : `${s}s`;
}

export function isoTime(ms: number): string {
  return Number.isFinite(ms) ? new Date(ms).toISOString().replace(/\.\d{3}Z$/, 'Z') : '–';
}

export interface SparklineOptions {
  readonly width?: number;
  readonly height?: number;
}

/**
 * Recent scores as a polyline with the threshold as a dashed red line; the last point is a dot, red when over
 * the threshold. The y axis starts at 0 (scores are reconstruction errors) and leaves room above the highest
 * of scores and threshold. Non-finite scores break the line.
 */
export function sparkline(scores: readonly number[], threshold: number | null, opts: SparklineOptions = {}): string {
  const w = opts.width ?? 160;
  const h = opts.height ?? 32;
  const pad = 2;
  const finite = scores.filter(Number.isFinite);
  const th = threshold !== null && Number.isFinite(threshold) ? threshold : null;
  const top = Math.max(...finite, th ?? 0, 0) * 1.1 || 1;
  const x = (i: number): number => pad + (scores.length > 1 ? (i * (w - 2 * pad)) / (scores.length - 1) : (w - 2 * pad) / 2);
  const y = (v: number): number => h - pad - (Math.max(0, v) / top) * (h - 2 * pad);
  const f = (v: number): string => v.toFixed(1);

  const segments: string[][] = [[]];
  scores.forEach((v, i) => {
    if (Number.isFinite(v)) segments[segments.length - 1].push(`${f(x(i))},${f(y(v))}`);
    else if (segments[segments.length - 1].length > 0) segments.push([]);
  });
  const lines = segments
    .filter((pts) => pts.length > 0)
    .map((pts) => `<polyline points="${pts.join(' ')}" fill="none" stroke="#1f77b4" stroke-width="1.5"/>`)
    .join('');
  const thLine = th === null ? '' : `<line class="threshold" x1="${pad}" x2="${w - pad}" y1="${f(y(th))}" y2="${f(y(th))}" stroke="#d62728" stroke-dasharray="3,2"/>`;
  const last = scores.length > 0 ? scores[scores.length - 1] : NaN;
  const dot = Number.isFinite(last)
    ? `<circle cx="${f(x(scores.length - 1))}" cy="${f(y(last))}" r="2.5" fill="${th !== null && last > th ? '#d62728' : '#1f77b4'}"/>`
    : '';
  const label = `Last ${scores.length} scores${th === null ? '' : `, threshold ${num(th)}`}`;
  return `<svg class="spark" xmlns="http://www.w3.org/2000/svg" width="${w}" height="${h}" viewBox="0 0 ${w} ${h}" role="img" aria-label="${esc(label)}"><title>${esc(label)}</title>${thLine}${lines}${dot}</svg>`;
}
