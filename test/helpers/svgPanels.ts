// Reads back the plots of a report page: each <svg> with its title, plot area and drawn lines in pixels, so a
// test can check where a series landed rather than how the markup is spelled.

export interface DrawnSeries {
  readonly name: string;
  readonly points: readonly { x: number; y: number }[];
}

export interface Panel {
  readonly title: string;
  readonly area: { x: number; y: number; width: number; height: number };
  readonly series: readonly DrawnSeries[];
  /** The y axis tick labels, top to bottom as written. */
  readonly yTicks: readonly string[];
}

export function panelsOf(html: string): Panel[] {
  const out: Panel[] = [];
  for (const m of html.matchAll(/<svg [^>]*aria-label="([^"]*)"[^>]*>([\s\S]*?)<\/svg>/g)) {
    const body = m[2];
    const rect = /<rect x="([\d.]+)" y="([\d.]+)" width="([\d.]+)" height="([\d.]+)" fill="#fff" stroke="#999"\/>/.exec(body);
    if (!rect) continue;
    const [x, y, width, height] = rect.slice(1, 5).map(Number);
    const series = [...body.matchAll(/<path d="([^"]*)"[^>]*><title>([^<]*)<\/title><\/path>/g)].map((p) => ({
      name: p[2],
      points: [...p[1].matchAll(/[ML](-?[\d.]+) (-?[\d.]+)/g)].map((c) => ({ x: Number(c[1]), y: Number(c[2]) })),
    }));
    const yTicks = [...body.matchAll(/<text x="[\d.]+" y="[\d.]+" text-anchor="end">([^<]*)<\/text>/g)].map((t) => t[1]);
    out.push({ title: m[1], area: { x, y, width, height }, series, yTicks });
  }
  return out;
}

/** Whether every point of the series lies in the panel's plot area. */
export function inside(panel: Panel, s: DrawnSeries): boolean {
  const { x, y, width, height } = panel.area;
  return s.points.every((p) => p.x >= x - 0.05 && p.x <= x + width + 0.05 && p.y >= y - 0.05 && p.y <= y + height + 0.05);
}

/** The vertical extent of a series as a fraction of the plot area's height. */
export function verticalSpan(panel: Panel, s: DrawnSeries): number {
  const ys = s.points.map((p) => p.y);
  return ys.length === 0 ? 0 : (Math.max(...ys) - Math.min(...ys)) / panel.area.height;
}
