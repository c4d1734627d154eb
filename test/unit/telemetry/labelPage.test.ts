// The status page's labelling form over the daemon's HTTP server: read access as for the page, the admin token in
// the form, the same refusals as the operator API, and the label and precision shown afterwards.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { AlertNotice } from '../../../src/core/alert';
import { FeedbackBook } from '../../../src/core/feedback';
import { createEvents } from '../../../src/telemetry/events';
import { createTelemetryServer } from '../../../src/telemetry/http';
import { labelForm, renderLabelForm } from '../../../src/telemetry/labelPage';
import { createMetrics } from '../../../src/telemetry/metrics';
import { OperatorApi, type AuditEvent, type FeedbackActions } from '../../../src/telemetry/operatorApi';
import { testContext } from '../../helpers/context';

const READ = 'read-token-0123456789abcdef';
const ADMIN = 'admin-token-0123456789abcdef';
// An hour ago (precision counts the last 30 days), with milliseconds that the form must keep.
const STARTS = Math.floor(Date.now() / 1000 - 3600) * 1000 + 123;
const STARTS_ISO = new Date(STARTS).toISOString();

function firing(): AlertNotice {
  return {
    kind: 'anomaly', status: 'firing', fingerprint: 'fp01', stream: 'line1/pump<2>', model: 'pump', severity: 'warning', startsAt: STARTS, endsAt: null,
    score: 2, threshold: 1, pValue: 0.001, topChannels: [], labels: {}, sequence: 1,
  };
}

async function serve(adminToken: string | undefined): Promise<{ url: string; book: FeedbackBook; audit: AuditEvent[]; close: () => Promise<void> }> {
  const metrics = createMetrics({ maxStreamLabels: 10, defaultMetrics: false });
  const events = createEvents(testContext().ctx.log, metrics);
  events.status.recordScore('line1/pump<2>', 'pump', 2, 1, true);
  events.status.recordAlert(firing());
  const book = new FeedbackBook();
  events.status.provideFeedback((now) => ({ labelOf: (fp, at) => book.get(fp, at), precision: book.precision(now) }));
  const feedback: FeedbackActions = {
    list: () => [],
    label: (fingerprint, r, who) => {
      const e = events.status.history.list().find((x) => x.fingerprint === fingerprint && (r.startsAt === undefined || x.startsAt === r.startsAt));
      if (!e) return Promise.resolve('unknown' as const);
      book.set({ fingerprint, stream: e.stream, kind: e.kind, startsAt: e.startsAt, endsAt: e.endsAt, label: r.label, note: r.note, who, at: Date.now() });
      return Promise.resolve({ fingerprint, stream: e.stream, kind: e.kind, startsAt: new Date(e.startsAt).toISOString(), endsAt: null, label: r.label, note: r.note, who, at: '' });
    },
  };
  const audit: AuditEvent[] = [];
  const api = new OperatorApi({ readToken: READ, ...(adminToken !== undefined ? { adminToken } : {}), feedback, audit: (e) => audit.push(e), now: () => Date.now() });
  const server = createTelemetryServer({ host: '127.0.0.1', port: 0, metrics, status: events.status, bearerToken: READ, api });
  const { url } = await server.start();
  return { url, book, audit, close: () => server.stop() };
}

const read = { authorization: `Bearer ${READ}` };
const formOf = (fields: Record<string, string>): string => new URLSearchParams(fields).toString();
const post = (url: string, fields: Record<string, string>, headers: Record<string, string> = read): Promise<Response> =>
  fetch(`${url}/label`, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded', ...headers }, body: formOf(fields) });

test('labelling form: read access as the status page, the admin token in the form; refusals change nothing; a label shows with its precision', async () => {
  const s = await serve(ADMIN);
  try {
    const page = await (await fetch(`${s.url}/`, { headers: read })).text();
    const href = /href="(\/label\?[^"]+)"/.exec(page)?.[1]?.replace(/&amp;/g, '&');
    assert.ok(href, 'the episode links to its form');
    assert.equal((await fetch(`${s.url}${href}`)).status, 401, 'the form needs the read token where one is set');
    const form = await fetch(`${s.url}${href}`, { headers: read });
    assert.equal(form.status, 200);
    assert.match(form.headers.get('content-security-policy') ?? '', /form-action 'self'/);
    const html = await form.text();
    assert.match(html, /line1\/pump&lt;2&gt;/, 'the stream is escaped');
    assert.ok(html.includes(`name="startsAt" value="${STARTS_ISO}"`), 'the exact start, milliseconds included');
    assert.equal((await fetch(`${s.url}/label?fingerprint=fp01&startsAt=${new Date(STARTS + 877).toISOString()}`, { headers: read })).status, 404);

    const fields = { fingerprint: 'fp01', startsAt: STARTS_ISO, label: 'false_positive', note: 'valve test' };
    assert.equal((await post(s.url, { ...fields, admin_token: ADMIN }, {})).status, 401, 'the read token is needed for the form too');
    assert.equal((await post(s.url, { ...fields, admin_token: 'wrong-token-0123456789' })).status, 401);
    assert.equal((await post(s.url, { ...fields, admin_token: READ })).status, 403, 'the read token cannot make changes');
    assert.equal((await post(s.url, { ...fields, label: 'maybe', admin_token: ADMIN })).status, 400);
    const json = await fetch(`${s.url}/label`, { method: 'POST', headers: { 'content-type': 'application/json', ...read }, body: JSON.stringify({ ...fields, admin_token: ADMIN }) });
    assert.equal(json.status, 415);
    assert.equal(s.book.size, 0, 'refused forms change nothing');
    assert.equal(s.audit.length, 0);

    const ok = await post(s.url, { ...fields, admin_token: ADMIN });
    assert.equal(ok.status, 200);
    const answer = await ok.text();
    assert.match(answer, /Saved: false positive/);
    assert.ok(!answer.includes(ADMIN), 'the token is not echoed');
    assert.deepEqual(s.audit.map((a) => [a.who, a.action, a.detail]), [['admin', 'feedback', 'false_positive: valve test']]);
    const after = await (await fetch(`${s.url}/`, { headers: read })).text();
    assert.match(after, /false positive<\/span> <span class="muted">\(admin\)<\/span>/);
    assert.match(after, /0 of 1 right \(0 %\)/);
    const streams = (await (await fetch(`${s.url}/api/v1/streams`, { headers: read })).json()) as { streams: { precision_30d?: unknown }[] };
    assert.deepEqual(streams.streams[0].precision_30d, { true_positives: 0, false_positives: 1, precision: 0 });
    const alerts = (await (await fetch(`${s.url}/api/v1/alerts`, { headers: read })).json()) as { episodes: { feedback?: unknown }[] };
    assert.deepEqual(alerts.episodes[0].feedback, { label: 'false_positive', note: 'valve test', who: 'admin' });
  } finally {
    await s.close();
  }
});

test('labelling form: without an admin token the page offers no form, and a posted form is refused with 403', async () => {
  const s = await serve(undefined);
  try {
    const page = await (await fetch(`${s.url}/`, { headers: read })).text();
    assert.ok(!page.includes('/label?'), 'no labelling link');
    const form = await (await fetch(`${s.url}/label?fingerprint=fp01&startsAt=${STARTS_ISO}`, { headers: read })).text();
    assert.match(form, /Labelling is off/);
    assert.ok(!form.includes('<form'));
    const r = await post(s.url, { fingerprint: 'fp01', label: 'true_positive', admin_token: 'anything-at-all-000' });
    assert.equal(r.status, 403);
    assert.equal(s.book.size, 0);
  } finally {
    await s.close();
  }
});

test('labelForm: the API body from the form fields, an empty note left out, the token apart', () => {
  const f = labelForm(Buffer.from(formOf({ fingerprint: 'fp', startsAt: 'x', label: 'true_positive', note: '', admin_token: 't', extra: 'y' })));
  assert.deepEqual(f, { fingerprint: 'fp', adminToken: 't', request: { label: 'true_positive', startsAt: 'x' } });
});

test('renderLabelForm: the current label is preselected and its note prefilled', () => {
  const html = renderLabelForm(
    { fingerprint: 'fp', stream: 's', model: 'm', alertname: 'AnomalyDetected', kind: 'anomaly', severity: 'warning', startsAt: 0, endsAt: 1000, peakScore: 2, threshold: 1, topChannels: [] },
    { fingerprint: 'fp', stream: 's', kind: 'anomaly', startsAt: 0, endsAt: 1000, label: 'true_positive', note: 'bearing <worn>', who: 'admin', at: 5 },
    true,
  );
  assert.match(html, /value="true_positive" required checked/);
  assert.match(html, /bearing &lt;worn&gt;<\/textarea>/);
});
