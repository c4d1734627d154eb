// Small, dependency-free SVG plots for self-contained HTML reports: line plots and histograms with axes,
// ticks, labels, a legend and labelled vertical markers. Every text is escaped; non-finite points break a
// line instead of corrupting the path.

export const PALETTE = ['#1f77b4', '#d62728', '#2ca02c', '#ff7f0e', '#9467bd', '#8c564b', '#e377c2', '#17becf'];

export interface Series {
  name: string;
  y: ArrayLike<number>;
  /** Default: 0, 1, 2, ... */
  x?: ArrayLike<number>;
  color?: string;
  dashed?: boolean;
}

/** A labelled vertical line at data coordinate x (a threshold, the best epoch). */
export interface Marker {
  x: number;
  label: string;
  color?: string;
}

interface FrameOptions {
  /** Pixels; defaults 560 x 300. */
  width?: number;
  height?: number;
  title?: string;
  xLabel?: string;
  yLabel?: string;
  markers?: readonly Marker[];
}

export interface LinePlotOptions extends FrameOptions {
  series: readonly Series[];
  /** Logarithmic y axis; values <= 0 are then not drawn. */
  logY?: boolean;
  /** Draw a legend box (default: when there is more than one series). */
  legend?: boolean;
  /** Only label integer x ticks (epochs, sample indices). */
  integerX?: boolean;
  /**
   * A fixed y axis (not with logY), e.g. [0, 1] for scaled values, so small multiples share one scale; values
   * beyond it are drawn at its edge rather than outside the plot.
   */
  yRange?: readonly [number, number];
}

export interface HistogramOptions extends FrameOptions {
  values: ArrayLike<number>;
  /** Number of bins; default sqrt(n) clamped to [5, 60]. */
  bins?: number;
  color?: string;
}

interface Frame {
  left: number;
  top: number;
  width: number;
  height: number;
  sx: (x: number) => number;
  sy: (y: number) => number;
}

const MARGIN = { left: 62, right: 14, top: 26, bottom: 44 };

export function escapeXml(s: string): string {
  return s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

/** Short tick text: up to 4 significant digits, exponent form for very large or small magnitudes. */
export function formatTick(v: number): string {
  if (v === 0) return '0';
  const a = Math.abs(v);
  if (a >= 1e5 || a < 1e-3) return v.toExponential(1).replace('e+', 'e');
  return String(Number(v.toPrecision(4)));
}

/** About `count` round tick values (steps of 1, 2 or 5 times a power of ten) covering [min, max]. */
export function niceTicks(min: number, max: number, count = 5): number[] {
  if (!(Number.isFinite(min) && Number.isFinite(max))) return [];
  if (min === max) return [min];
  const step = niceStep((max - min) / Math.max(1, count));
  const ticks: number[] = [];
  for (let k = Math.ceil(min / step - 1e-9); k * step <= max + step * 1e-9; k++) {
    ticks.push(Number((k * step).toPrecision(12)));
  }
  return ticks;
}

export function linePlot(o: LinePlotOptions): string {
  const logY = o.logY ?? false;
  const fixed = !logY && o.yRange !== undefined && o.yRange[1] > o.yRange[0] ? o.yRange : undefined;
  const clampY = (y: number): number => (fixed ? Math.min(fixed[1], Math.max(fixed[0], y)) : y);
  const xs: number[] = [];
  const ys: number[] = [];
  for (const s of o.series) {
    for (let i = 0; i < s.y.length; i++) {
      const x = s.x ? s.x[i] : i;
      const y = s.y[i];
      if (Number.isFinite(x) && Number.isFinite(y) && (!logY || y > 0)) {
        xs.push(x);
        ys.push(logY ? Math.log10(y) : y);
      }
    }
  }
  for (const m of o.markers ?? []) if (Number.isFinite(m.x)) xs.push(m.x);
  const [x0, x1] = padDomain(minOf(xs), maxOf(xs));
  let [y0, y1] = padDomain(minOf(ys), maxOf(ys));
  let yTicks: number[];
  if (fixed) {
    [y0, y1] = fixed;
    yTicks = niceTicks(y0, y1, 5);
  } else if (logY) {
    y0 = Math.floor(y0);
    y1 = Math.ceil(y1);
    if (y1 === y0) y1 = y0 + 1;
    yTicks = logTicks(y0, y1);
  } else {
    const step = niceStep((y1 - y0) / 5);
    y0 = Math.floor(y0 / step) * step;
    y1 = Math.ceil(y1 / step) * step;
    yTicks = niceTicks(y0, y1, 5);
  }
  const f = frame(o, x0, x1, y0, y1);
  const parts: string[] = [open(o), axes(o, f, niceTicks(x0, x1, 6).filter((t) => !o.integerX || Number.isInteger(t)), yTicks, logY)];
  if (xs.length === 0) parts.push(noData(f));
  o.series.forEach((s, si) => {
    const color = s.color ?? PALETTE[si % PALETTE.length];
    let d = '';
    let pen = false;
    let drawn = 0;
    for (let i = 0; i < s.y.length; i++) {
      const x = s.x ? s.x[i] : i;
      const y = s.y[i];
      if (!(Number.isFinite(x) && Number.isFinite(y) && (!logY || y > 0))) {
        pen = false;
        continue;
      }
      const cx = px(f.sx(x));
      const cy = px(f.sy(logY ? Math.log10(y) : clampY(y)));
      d += `${pen ? 'L' : 'M'}${cx} ${cy}`;
      pen = true;
      // A lone point draws no line: show it as a dot.
      if (++drawn === 1 && s.y.length === 1) parts.push(`<circle cx="${cx}" cy="${cy}" r="3" fill="${escapeXml(color)}"/>`);
    }
    if (d === '') return;
    const dash = s.dashed ? ' stroke-dasharray="5 3"' : '';
    parts.push(`<path d="${d}" fill="none" stroke="${escapeXml(color)}" stroke-width="1.6"${dash}><title>${escapeXml(s.name)}</title></path>`);
  });
  parts.push(markers(o, f));
  if (o.legend ?? o.series.length > 1) {
    parts.push(
      legend(
        f,
        o.series.map((s, si) => ({ name: s.name, color: s.color ?? PALETTE[si % PALETTE.length], dashed: s.dashed ?? false })),
      ),
    );
  }
  parts.push('</svg>');
  return parts.join('\n');
}

export function histogram(o: HistogramOptions): string {
  const vals: number[] = [];
  for (let i = 0; i < o.values.length; i++) if (Number.isFinite(o.values[i])) vals.push(o.values[i]);
  const marks = (o.markers ?? []).filter((m) => Number.isFinite(m.x)).map((m) => m.x);
  const [x0, x1] = padDomain(minOf([...vals, ...marks]), maxOf([...vals, ...marks]));
  const nBins = Math.max(1, Math.round(o.bins ?? Math.min(60, Math.max(5, Math.ceil(Math.sqrt(vals.length))))));
  const width = (x1 - x0) / nBins;
  const counts = new Array<number>(nBins).fill(0);
  for (const v of vals) counts[Math.min(nBins - 1, Math.floor((v - x0) / width))]++;
  const yStep = niceStep(Math.max(1, maxOf(counts)) / 5);
  const y1 = Math.max(1, Math.ceil(Math.max(1, maxOf(counts)) / yStep) * yStep);
  const f = frame(o, x0, x1, 0, y1);
  const yTicks = niceTicks(0, y1, 5).filter((t) => Number.isInteger(t));
  const parts: string[] = [open(o), axes(o, f, niceTicks(x0, x1, 6), yTicks, false)];
  if (vals.length === 0) parts.push(noData(f));
  const fill = escapeXml(o.color ?? PALETTE[0]);
  counts.forEach((c, b) => {
    if (c === 0) return;
    const left = f.sx(x0 + b * width);
    const right = f.sx(x0 + (b + 1) * width);
    const top = f.sy(c);
    const range = `${formatTick(x0 + b * width)} to ${formatTick(x0 + (b + 1) * width)}`;
    parts.push(
      `<rect x="${px(left)}" y="${px(top)}" width="${px(Math.max(0.5, right - left - 1))}" height="${px(f.sy(0) - top)}" fill="${fill}" fill-opacity="0.75"><title>${escapeXml(`${range}: ${c}`)}</title></rect>`,
    );
  });
  parts.push(markers(o, f));
  parts.push('</svg>');
  return parts.join('\n');
}

function open(o: FrameOptions): string {
  const w = o.width ?? 560;
  const h = o.height ?? 300;
  const label = escapeXml(o.title ?? 'plot');
  const title = o.title
    ? `\n<text x="${w / 2}" y="16" text-anchor="middle" font-size="13" font-weight="bold">${label}</text>`
    : '';
  return (
    `<svg xmlns="http://www.w3.org/2000/svg" width="${w}" height="${h}" viewBox="0 0 ${w} ${h}" role="img" ` +
    `aria-label="${label}" font-family="sans-serif" font-size="11"><title>${label}</title>${title}`
  );
}

function frame(o: FrameOptions, x0: number, x1: number, y0: number, y1: number): Frame {
  const w = o.width ?? 560;
  const h = o.height ?? 300;
  const left = MARGIN.left;
  const top = MARGIN.top;
  const width = Math.max(10, w - MARGIN.left - MARGIN.right);
  const height = Math.max(10, h - MARGIN.top - MARGIN.bottom);
  return {
    left,
    top,
    width,
    height,
    sx: (x) => left + ((x - x0) / (x1 - x0)) * width,
    sy: (y) => top + height - ((y - y0) / (y1 - y0)) * height,
  };
}

function axes(o: FrameOptions, f: Frame, xTicks: number[], yTicks: number[], logY: boolean): string {
  const bottom = f.top + f.height;
  const right = f.left + f.width;
  const out: string[] = [
    `<rect x="${f.left}" y="${f.top}" width="${f.width}" height="${f.height}" fill="#fff" stroke="#999"/>`,
  ];
  for (const t of xTicks) {
    const x = px(f.sx(t));
    out.push(`<line x1="${x}" y1="${bottom}" x2="${x}" y2="${bottom + 4}" stroke="#666"/>`);
    out.push(`<text x="${x}" y="${bottom + 15}" text-anchor="middle">${escapeXml(formatTick(t))}</text>`);
  }
  for (const t of yTicks) {
    const y = px(f.sy(t));
    out.push(`<line x1="${f.left}" y1="${y}" x2="${right}" y2="${y}" stroke="#eee"/>`);
    out.push(`<line x1="${f.left - 4}" y1="${y}" x2="${f.left}" y2="${y}" stroke="#666"/>`);
    const text = logY ? formatTick(Math.pow(10, t)) : formatTick(t);
    out.push(`<text x="${f.left - 6}" y="${px(f.sy(t) + 4)}" text-anchor="end">${escapeXml(text)}</text>`);
  }
  if (o.xLabel) {
    out.push(`<text x="${px(f.left + f.width / 2)}" y="${bottom + 34}" text-anchor="middle">${escapeXml(o.xLabel)}</text>`);
  }
  if (o.yLabel) {
    const cy = px(f.top + f.height / 2);
    out.push(`<text x="14" y="${cy}" text-anchor="middle" transform="rotate(-90 14 ${cy})">${escapeXml(o.yLabel)}</text>`);
  }
  return out.join('\n');
}

function markers(o: FrameOptions, f: Frame): string {
  return (o.markers ?? [])
    .filter((m) => Number.isFinite(m.x))
    .map((m, i) => {
      const x = px(f.sx(m.x));
      const color = escapeXml(m.color ?? '#333');
      // Put the label on the side with more room so it stays inside the plot.
      const leftSide = f.sx(m.x) > f.left + f.width * 0.6;
      const tx = px(f.sx(m.x) + (leftSide ? -4 : 4));
      return (
        `<line x1="${x}" y1="${f.top}" x2="${x}" y2="${f.top + f.height}" stroke="${color}" stroke-width="1.5" stroke-dasharray="6 3"/>\n` +
        `<text x="${tx}" y="${f.top + 12 + i * 13}" text-anchor="${leftSide ? 'end' : 'start'}" fill="${color}">${escapeXml(m.label)}</text>`
      );
    })
    .join('\n');
}

function legend(f: Frame, items: { name: string; color: string; dashed: boolean }[]): string {
  const longest = Math.max(...items.map((i) => i.name.length), 1);
  const w = Math.min(f.width - 8, 34 + longest * 6.2);
  const x = f.left + f.width - w - 6;
  const y = f.top + 6;
  const out = [
    `<g class="legend"><rect x="${px(x)}" y="${y}" width="${px(w)}" height="${items.length * 14 + 6}" fill="#fff" fill-opacity="0.85" stroke="#ccc"/>`,
  ];
  items.forEach((it, i) => {
    const ly = y + 12 + i * 14;
    const dash = it.dashed ? ' stroke-dasharray="5 3"' : '';
    out.push(`<line x1="${px(x + 5)}" y1="${ly - 4}" x2="${px(x + 25)}" y2="${ly - 4}" stroke="${escapeXml(it.color)}" stroke-width="2"${dash}/>`);
    out.push(`<text x="${px(x + 30)}" y="${ly}">${escapeXml(it.name)}</text>`);
  });
  out.push('</g>');
  return out.join('\n');
}

function noData(f: Frame): string {
  return `<text x="${px(f.left + f.width / 2)}" y="${px(f.top + f.height / 2)}" text-anchor="middle" fill="#999">no data</text>`;
}

function logTicks(lo: number, hi: number): number[] {
  const ticks: number[] = [];
  for (let k = lo; k <= hi; k++) {
    ticks.push(k);
    if (hi - lo <= 2 && k < hi) ticks.push(k + Math.log10(2), k + Math.log10(5));
  }
  return ticks;
}

function niceStep(raw: number): number {
  if (!(raw > 0) || !Number.isFinite(raw)) return 1;
  const p = Math.pow(10, Math.floor(Math.log10(raw)));
  const m = raw / p;
  return (m <= 1 ? 1 : m <= 2 ? 2 : m <= 5 ? 5 : 10) * p;
}

function padDomain(lo: number, hi: number): [number, number] {
  if (!Number.isFinite(lo) || !Number.isFinite(hi)) return [0, 1];
  if (lo === hi) {
    const d = lo === 0 ? 1 : Math.abs(lo) * 0.1;
    return [lo - d, hi + d];
  }
  return [lo, hi];
}

function minOf(a: readonly number[]): number {
  let m = Infinity;
  for (const v of a) if (v < m) m = v;
  return m;
}

function maxOf(a: readonly number[]): number {
  let m = -Infinity;
  for (const v of a) if (v > m) m = v;
  return m;
}

function px(v: number): string {
  return String(Math.round(v * 10) / 10);
}
