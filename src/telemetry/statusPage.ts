// The operator's status page at `/`: one server-rendered HTML document that refreshes itself every 5 s, with no
// script (works behind strict proxies and in a kiosk browser). Every inserted text goes through esc(). The alert,
// stream and history tables carry ids (#alerts, #streams, #episodes) for browser tests and anyone scraping the page.
import type { AlertEpisode } from '../core/alertHistory';
import type { StreamPrecision } from '../core/feedback';
import type { AlertView, SinkView, StatusSnapshot, StreamView, WindowFillView } from './status';
import { duration, esc, isoTime, num, sparkline } from './html';

export interface PageInfo {
  /** anomalyd version shown in the header. */
  readonly version?: string;
  /** Inference backend when known from elsewhere; otherwise the loaded models' backends are shown. */
  readonly backend?: string;
  /** The URL operators reach the daemon at (http.external_url); the page's links start there. */
  readonly externalUrl?: string;
  /** Changes are enabled (an admin token is set): each episode links to its labelling form (labelPage.ts). */
  readonly labelling?: boolean;
}

export interface PageRequest {
  /** A stream to highlight (`?stream=`, where alert payloads' generatorURL points). */
  readonly focus?: string;
}

const STYLE = `body{font:14px/1.4 system-ui,sans-serif;margin:1.5em;color:#222}
h1{font-size:1.4em}h2{font-size:1.1em;margin-top:1.6em}
table{border-collapse:collapse}th,td{padding:3px 10px;border-bottom:1px solid #ddd;text-align:left;vertical-align:middle}
th{background:#f4f4f4}td.n{text-align:right;font-variant-numeric:tabular-nums}
dl{display:grid;grid-template-columns:max-content auto;gap:2px 14px}dt{font-weight:600}dd{margin:0}
.ok{color:#2ca02c}.bad{color:#d62728;font-weight:600}.warn{color:#b36b00}.muted{color:#777}
tr.focus td{background:#fff6d5}progress{width:70px;vertical-align:middle;margin-right:6px}td.t{white-space:nowrap}`;

/** The root of the page's own links: the external URL when one is set (a reverse proxy's path prefix included). */
export function linkBase(externalUrl: string | undefined): string {
  return externalUrl === undefined ? '/' : `${externalUrl.replace(/\/+$/, '')}/`;
}

function links(externalUrl: string | undefined): string {
  const base = linkBase(externalUrl);
  const a = (p: string): string => `<a href="${esc(base + p)}">${esc('/' + p)}</a>`;
  return `Metrics: ${a('metrics')}, ${a('readyz')}; JSON: ${a('api/v1/alerts')}, ${a('api/v1/streams')}.`;
}

export function renderStatusPage(s: StatusSnapshot, info: PageInfo = {}, req: PageRequest = {}): string {
  const firingByStream = new Map<string, AlertView>();
  for (const a of s.alerts) if (!firingByStream.has(a.stream) || a.severity === 'critical') firingByStream.set(a.stream, a);
  return [
    '<!doctype html><html lang="en"><head><meta charset="utf-8">',
    '<meta http-equiv="refresh" content="5">',
    '<meta name="viewport" content="width=device-width,initial-scale=1">',
    `<title>anomalyd status</title><style>${STYLE}</style></head><body>`,
    `<h1>anomalyd${info.version ? ` <span class="muted">${esc(info.version)}</span>` : ''}</h1>`,
    summary(s, info),
    alertsTable(s),
    maintenanceTable(s),
    streamsTable(s, firingByStream, req.focus),
    episodesTable(s, req.focus, info),
    rejectionsTable(s),
    modelsTable(s),
    `<p class="muted">Rendered ${esc(isoTime(s.now))}; refreshes every 5 s. ${links(info.externalUrl)}</p>`,
    '</body></html>',
  ].join('\n');
}

function summary(s: StatusSnapshot, info: PageInfo): string {
  const backends = [...new Set(s.models.filter((m) => m.state === 'loaded').map((m) => m.backend))];
  const backend = info.backend ?? (backends.length > 0 ? backends.join(', ') : '–');
  const mqtt = s.mqtt.connected
    ? `<span class="ok">connected</span>${s.mqtt.since !== null ? ` for ${esc(duration(s.now - s.mqtt.since))}` : ''}`
    : `<span class="bad">disconnected</span> <span class="muted">${esc(s.mqtt.detail)}</span>`;
  const sources = s.sources.map((src): [string, string] => [
    esc(src.name),
    src.connected
      ? `<span class="ok">connected</span> for ${esc(duration(s.now - src.since))}`
      : `<span class="bad">disconnected</span> <span class="muted">${esc(src.detail)}</span>`,
  ]);
  const rows: [string, string][] = [
    ['Uptime', esc(duration(s.now - s.startedAt))],
    ['Backend', esc(backend)],
    ['MQTT', mqtt],
    ...sources,
    ['Messages/s', esc(s.messagesPerSecond.toFixed(1))],
    ['Messages', esc(String(s.messagesTotal))],
    ['Streams', esc(String(s.streams.length)) + (s.streamsCapped ? ' <span class="warn">(page cap reached; more in /metrics)</span>' : '')],
    ...(s.sinks !== undefined && s.sinks.length > 0 ? [['Sinks', sinksLine(s.sinks)] as [string, string]] : []),
    ['Alerts firing', s.alerts.length + s.alertsNotShown > 0 ? `<span class="bad">${s.alerts.length + s.alertsNotShown}</span>` : '<span class="ok">0</span>'],
  ];
  return `<dl>${rows.map(([k, v]) => `<dt>${k}</dt><dd>${v}</dd>`).join('')}</dl>`;
}

/** "influx, mqtt_out disconnected (12 waiting)": a sink's connection where it keeps one, and what it holds. */
function sinksLine(sinks: readonly SinkView[]): string {
  return sinks
    .map((k) => {
      const link = k.connected === undefined ? '' : k.connected ? ' <span class="ok">connected</span>' : ' <span class="bad">disconnected</span>';
      const held = k.buffered > 0 ? ` <span class="muted">(${esc(String(k.buffered))} waiting)</span>` : '';
      return `${esc(k.name)}${link}${held}`;
    })
    .join(', ');
}

function alertsTable(s: StatusSnapshot): string {
  const head = `<h2>Active alerts (${s.alerts.length + s.alertsNotShown})</h2>`;
  if (s.alerts.length === 0 && s.alertsNotShown === 0) return `${head}<p class="ok">None.</p>`;
  const rows = s.alerts.map((a) => `<tr><td>${esc(a.stream)}</td><td>${esc(a.kind)}${a.maintenance !== undefined ? ` <span class="muted">held by maintenance ${esc(a.maintenance)}</span>` : ''}</td>`
    + `<td class="${a.severity === 'critical' ? 'bad' : 'warn'}">${esc(a.severity)}</td>`
    + `<td>${esc(isoTime(a.since))} <span class="muted">(${esc(duration(s.now - a.since))} ago)</span></td>`
    + `<td class="n">${esc(num(a.score))} / ${esc(num(a.threshold))}</td><td class="n">${esc(num(a.pValue))}</td>`
    + `<td>${a.topChannels.map((c) => `${esc(c.channel)} ${esc((c.share * 100).toFixed(0))}%`).join(', ')}</td></tr>`);
  const more = s.alertsNotShown > 0 ? `<p class="warn">${s.alertsNotShown} more not shown.</p>` : '';
  return `${head}<table id="alerts"><tr><th>Stream</th><th>Kind</th><th>Severity</th><th>Since</th><th>Score / threshold</th><th>p-value</th><th>Top channels</th></tr>${rows.join('')}</table>${more}`;
}

/** The maintenance windows open now: their alerts are recorded and page nobody until they close. */
function maintenanceTable(s: StatusSnapshot): string {
  if (s.maintenance.length === 0) return '';
  const rows = s.maintenance.map((w) => `<tr><td>${esc(w.id)}</td><td>${esc(w.reason)}</td><td>${esc(w.scope)}</td>`
    + `<td>${esc(isoTime(w.start))}</td><td>${esc(isoTime(w.end))} <span class="muted">(in ${esc(duration(w.end - s.now))})</span></td>`
    + `<td>${w.origin === 'config' ? 'config file' : 'operator API'}</td></tr>`);
  return `<h2>Maintenance windows open (${s.maintenance.length})</h2><p class="muted">Alerts of the streams they cover are recorded but page nobody; one still firing when its window closes pages then.</p>`
    + `<table id="maintenance"><tr><th>Window</th><th>Reason</th><th>Covers</th><th>Since</th><th>Until</th><th>From</th></tr>${rows.join('')}</table>`;
}

const STATE_ORDER = { firing: 0, anomalous: 1, insufficient_data: 2, filling: 3, normal: 4 } as const;

function streamsTable(s: StatusSnapshot, firing: ReadonlyMap<string, AlertView>, focus: string | undefined): string {
  const head = `<h2>Streams (${s.streams.length}${s.streamsCapped ? '+' : ''})</h2>`;
  if (s.streams.length === 0) return `${head}<p class="muted">No stream has sent data yet.</p>`;
  const state = (v: StreamView): keyof typeof STATE_ORDER => (firing.has(v.stream) ? 'firing' : v.state);
  const sorted = [...s.streams].sort((a, b) => STATE_ORDER[state(a)] - STATE_ORDER[state(b)] || (a.stream < b.stream ? -1 : 1));
  // The Mode column only where some stream has operating modes.
  const withModes = s.streams.some((v) => v.mode !== undefined);
  const rows = sorted.map((v) => {
    const st = state(v);
    const alert = firing.get(v.stream);
    // A stopped machine (mode off) is not waiting for a window: nothing is scored until it runs again.
    // Nor is a stream whose Sparkplug edge node or device died: nothing is scored until it is born again.
    const off = (v.mode === 'off' || v.offline === true || v.channelsChanged !== undefined) && st !== 'firing';
    const why = v.offline ? 'offline (edge node or device dead)' : v.channelsChanged ? 'refused: its birth gives other channels than its model learnt' : 'stopped (mode off)';
    const label = off ? why : st === 'firing' && alert ? `firing (${alert.severity})`
      : st === 'insufficient_data' ? `insufficient data (${num(v.completeness)})` : st.replace('_', ' ');
    const cls = off ? 'muted' : st === 'firing' ? 'bad' : st === 'normal' ? 'ok' : 'warn';
    const over = v.score !== null && v.threshold !== null && v.score > v.threshold;
    const fill = v.fill === null || off ? '' : ` ${fillCell(v.fill, s.now, v.score === null)}`;
    const mode = !withModes ? '' : `<td>${v.mode === undefined ? '' : v.mode === null ? '<span class="muted">unknown</span>' : `<span class="${v.mode === 'off' ? 'muted' : ''}">${esc(v.mode)}</span>`}</td>`;
    return `<tr${rowAttrs(v.stream, focus)}><td>${esc(v.stream)}</td><td>${esc(v.model)}</td>${mode}`
      + `<td class="n"><span class="${over ? 'bad' : ''}">${esc(num(v.score))}</span> / ${esc(num(v.threshold))}</td>`
      + `<td>${sparkline(v.history, v.threshold)}</td><td class="${cls}">${esc(label)}${fill}</td>`
      + `<td class="n">${esc(precisionText(s.feedback.precision.get(v.stream)))}</td></tr>`;
  });
  return `${head}<table id="streams"><tr><th>Stream</th><th>Model</th>${withModes ? '<th>Mode</th>' : ''}<th>Score / threshold</th><th>Recent scores</th><th>State</th>`
    + `<th title="Labelled alert episodes of the last 30 days that were true positives">Precision (30 d)</th></tr>${rows.join('')}</table>`;
}

function rowAttrs(stream: string, focus: string | undefined): string {
  return stream === focus ? ' class="focus"' : '';
}

/**
 * How full the window is and when it will be scored: "12/30 samples, first score in ~18s". The estimate is the
 * steps still missing times the sample period (configured, else observed), from the last sample on.
 */
export function fillText(f: WindowFillView, now: number, first: boolean): string {
  if (f.lastSampleAt === null) return 'no data since start';
  const parts: string[] = [];
  if (f.buffered < f.size) {
    parts.push(`${f.buffered}/${f.size} samples`);
    const what = first ? 'first score' : 'next score';
    if (!f.modelReady) parts.push('model not ready');
    else if (f.nextWindowAt === null) parts.push(`${what} after ${f.size - f.buffered} more`);
    else if (f.nextWindowAt > now) parts.push(`${what} in ~${duration(f.nextWindowAt - now + 999)}`);
    else parts.push(`${what} due (waiting for samples)`);
  } else if (!f.modelReady) {
    parts.push('window full; model not ready (loading or learning)');
  }
  return parts.join(', ');
}

function fillCell(f: WindowFillView, now: number, first: boolean): string {
  const bar = f.buffered < f.size ? `<progress class="fill" value="${f.buffered}" max="${f.size}"></progress>` : '';
  return `<span class="fill muted">${bar}${esc(fillText(f, now, first))}</span>`;
}

function episodesTable(s: StatusSnapshot, focus: string | undefined, info: PageInfo): string {
  const head = `<h2>Alert history (last ${s.episodes.length})</h2>`;
  if (s.episodes.length === 0) return `${head}<p class="muted">No alert yet.</p>`;
  const rows = s.episodes.map((e) => `<tr${rowAttrs(e.stream, focus)}><td class="t">${esc(isoTime(e.startsAt))}</td>`
    + `<td class="t">${e.endsAt === null ? '<span class="bad">firing</span>' : esc(isoTime(e.endsAt))}</td>`
    + `<td class="n">${esc(duration((e.endsAt ?? s.now) - e.startsAt))}</td>`
    + `<td>${esc(e.stream)}</td><td>${esc(e.alertname)}</td>`
    + `<td class="${e.severity === 'critical' ? 'bad' : 'warn'}">${esc(e.severity)}</td>`
    + `<td class="n">${esc(num(e.peakScore))} / ${esc(num(e.threshold))}</td>`
    + `<td>${esc(episodeChannels(e))}</td><td class="label">${labelCell(s, e, info)}</td></tr>`);
  return `${head}<table id="episodes"><tr><th>Started</th><th>Ended</th><th>Duration</th><th>Stream</th><th>Alert</th><th>Severity</th><th>Peak score / threshold</th><th>Top channels</th><th>Label</th></tr>${rows.join('')}</table>`;
}

/** "2 of 3 right (67 %)" over the labelled episodes, '–' when none is labelled. */
export function precisionText(p: StreamPrecision | undefined): string {
  if (p === undefined || p.precision === null) return '–';
  const labelled = p.truePositives + p.falsePositives;
  return `${p.truePositives} of ${labelled} right (${Math.round(p.precision * 100)} %)`;
}

/** The episode's label (and who gave it), and the link to label it when changes are enabled. */
function labelCell(s: StatusSnapshot, e: AlertEpisode, info: PageInfo): string {
  const f = s.feedback.labelOf(e.fingerprint, e.startsAt);
  const given = f === undefined ? '' : `<span class="${f.label === 'true_positive' ? 'ok' : 'warn'}" title="${esc(f.note)}">${esc(f.label.replace('_', ' '))}</span> <span class="muted">(${esc(f.who)})</span> `;
  if (!info.labelling) return given === '' ? '<span class="muted">–</span>' : given;
  const href = `${linkBase(info.externalUrl)}label?${new URLSearchParams({ fingerprint: e.fingerprint, startsAt: new Date(e.startsAt).toISOString() }).toString()}`;
  return `${given}<a href="${esc(href)}">${f === undefined ? 'label' : 'relabel'}</a>`;
}

function episodeChannels(e: AlertEpisode): string {
  const channels = e.topChannels.map((c) => (e.kind === 'anomaly' ? `${c.channel} ${(c.share * 100).toFixed(0)}%` : c.channel)).join(', ');
  return e.resolveReason === undefined ? channels : `${channels}${channels ? '; ' : ''}closed: ${e.resolveReason}`;
}

function rejectionsTable(s: StatusSnapshot): string {
  const head = '<h2>Rejected messages</h2>';
  if (s.rejections.length === 0) return `${head}<p class="ok">None.</p>`;
  const rows = s.rejections.map((r) => `<tr><td>${esc(r.reason)}</td><td class="n">${r.count}</td><td>${esc(r.lastTopic)}</td>`
    + `<td>${esc(r.lastDetail)}</td><td>${esc(isoTime(r.lastAt))}</td></tr>`);
  return `${head}<table><tr><th>Reason</th><th>Count</th><th>Last topic</th><th>Last detail</th><th>Last at</th></tr>${rows.join('')}</table>`;
}

function modelsTable(s: StatusSnapshot): string {
  if (s.models.length === 0) return '<h2>Models</h2><p class="muted">None loaded yet.</p>';
  const rows = s.models.map((m) => `<tr><td>${esc(m.model)}</td><td class="${m.state === 'loaded' ? 'ok' : 'bad'}">${esc(m.state)}</td>`
    + `<td>${esc(m.version)}</td><td>${esc(m.backend)}</td><td>${esc(m.dir)}</td><td>${esc(m.detail)}</td></tr>`);
  return `<h2>Models</h2><table><tr><th>Model</th><th>State</th><th>Version</th><th>Backend</th><th>Directory</th><th>Detail</th></tr>${rows.join('')}</table>`;
}
