// Labelling an alert episode from the status page, without script: GET /label?fingerprint=..&startsAt=.. is a
// form (its own page, because the status page reloads itself every 5 s and would wipe what is being typed); POST
// /label takes the form, with the admin token as one of its fields (a browser cannot add a bearer header to a
// form), and answers with a page that says what happened. The token in the body is also what makes a forged
// cross-site form useless: another site cannot know it. The label goes through the operator API's own path
// (OperatorApi.labelEpisode): the same checks, audit and answers as POST /api/v1/alerts/{fingerprint}/feedback.
import type { AlertEpisode } from '../core/alertHistory';
import type { AlertFeedback } from '../core/feedback';
import { esc, isoTime, num } from './html';
import type { ApiReply } from './operatorApi';
import { linkBase } from './statusPage';

const STYLE = `body{font:14px/1.4 system-ui,sans-serif;margin:1.5em;color:#222;max-width:44em}h1{font-size:1.3em}
dl{display:grid;grid-template-columns:max-content auto;gap:2px 14px}dt{font-weight:600}dd{margin:0}
fieldset{border:1px solid #ddd;margin:1em 0}label{display:block;margin:4px 0}textarea{width:100%}
.ok{color:#2ca02c}.bad{color:#d62728;font-weight:600}.muted{color:#777}`;

/** Nothing but this page's own form posts may happen from it: no script, no other target. */
export const LABEL_PAGE_CSP = "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'";

function page(title: string, body: string): string {
  return `<!doctype html><html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1">`
    + `<meta name="referrer" content="no-referrer"><title>${esc(title)} - anomalyd</title><style>${STYLE}</style></head><body>${body}</body></html>`;
}

/** The form for one episode; `changesEnabled` false: why it cannot be labelled here. */
export function renderLabelForm(e: AlertEpisode, given: AlertFeedback | undefined, changesEnabled: boolean, externalUrl?: string): string {
  const back = `${linkBase(externalUrl)}?${new URLSearchParams({ stream: e.stream }).toString()}`;
  const facts = `<dl><dt>Stream</dt><dd>${esc(e.stream)}</dd><dt>Alert</dt><dd>${esc(e.alertname)} (${esc(e.severity)})</dd>`
    + `<dt>Started</dt><dd>${esc(isoTime(e.startsAt))}</dd><dt>Ended</dt><dd>${e.endsAt === null ? '<span class="bad">firing</span>' : esc(isoTime(e.endsAt))}</dd>`
    + `<dt>Peak score / threshold</dt><dd>${esc(num(e.peakScore))} / ${esc(num(e.threshold))}</dd>`
    + `<dt>Label now</dt><dd>${given === undefined ? '<span class="muted">none</span>' : `${esc(given.label.replace('_', ' '))} by ${esc(given.who)}${given.note ? `: ${esc(given.note)}` : ''}`}</dd></dl>`;
  if (!changesEnabled) {
    return page('Label an alert', `<h1>Label an alert</h1>${facts}<p>Labelling is off: this daemon has no <code>http.admin_token</code>, so it takes no change.</p><p><a href="${esc(back)}">Back to the status page</a></p>`);
  }
  const checked = (label: string): string => (given?.label === label ? ' checked' : '');
  const form = `<form method="post" action="${esc(`${linkBase(externalUrl)}label`)}">`
    + `<input type="hidden" name="fingerprint" value="${esc(e.fingerprint)}"><input type="hidden" name="startsAt" value="${esc(new Date(e.startsAt).toISOString())}">`
    + `<fieldset><legend>Was this alert right?</legend>`
    + `<label><input type="radio" name="label" value="true_positive" required${checked('true_positive')}> True positive: the machine had a problem</label>`
    + `<label><input type="radio" name="label" value="false_positive"${checked('false_positive')}> False positive: the machine was running normally (its data becomes training data)</label></fieldset>`
    + `<label>Note (optional)<textarea name="note" rows="3" maxlength="1000">${esc(given?.note ?? '')}</textarea></label>`
    + `<input type="text" name="username" value="anomalyd-admin" autocomplete="username" hidden>`
    + `<label>Admin token <input type="password" name="admin_token" autocomplete="current-password" required></label>`
    + `<p><button type="submit">Save the label</button> <a href="${esc(back)}">Cancel</a></p></form>`;
  return page('Label an alert', `<h1>Label an alert</h1>${facts}${form}`);
}

/** The answer to a submitted form: what the API answered, in words, with the way back. */
export function renderLabelOutcome(reply: ApiReply, stream: string | undefined, externalUrl?: string): string {
  const back = `${linkBase(externalUrl)}${stream === undefined ? '' : `?${new URLSearchParams({ stream }).toString()}`}`;
  const body = reply.body as { label?: string; error?: string } | null;
  const text = reply.status === 201
    ? `<p class="ok">Saved: ${esc(String(body?.label ?? '').replace('_', ' '))}.</p>`
    : `<p class="bad">Not saved: ${esc(String(body?.error ?? `answer ${reply.status}`))}.</p>`;
  return page(reply.status === 201 ? 'Label saved' : 'Label not saved', `<h1>Label an alert</h1>${text}<p><a href="${esc(back)}">Back to the status page</a></p>`);
}

/** The fields of a submitted form, as the API's JSON body; `adminToken` apart. */
export function labelForm(body: Buffer): { fingerprint: string; adminToken: string; request: Record<string, string> } {
  const form = new URLSearchParams(body.toString('utf8'));
  const request: Record<string, string> = {};
  for (const key of ['label', 'note', 'startsAt']) {
    const v = form.get(key);
    if (v !== null && !(key === 'note' && v === '')) request[key] = v;
  }
  return { fingerprint: form.get('fingerprint') ?? '', adminToken: form.get('admin_token') ?? '', request };
}
