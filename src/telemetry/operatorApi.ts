// The operator's write surface on the daemon's HTTP port, under /api/v1/: maintenance windows and labels of
// alert episodes (models and retraining join it). Reading follows the status page's rule (the bearer token where
// one is set); every change needs the separate admin token, and with none configured changes are refused with
// 403, so a default install exposes no write surface. A missing or wrong token is 401, the read token on a change 403.
// Each accepted change is reported to `audit` (who and what) before it is answered.
//
// JSON in and out. Bodies are read up to MAX_BODY_BYTES and must be application/json; what the actions refuse
// comes back as 400 with the reason, an unknown id as 404.
import { createHash, timingSafeEqual } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import { FEEDBACK_LABELS, isFeedbackLabel, type FeedbackLabel } from '../core/feedback';
import { isModelsPath, modelsRoute, type ModelsActions } from './modelsApi';
import { RETRAIN_PATH, retrainReply, type RetrainActions } from './retrainApi';

/** A maintenance window as the API shows it. */
export interface MaintenanceWindowJson {
  readonly id: string;
  readonly reason: string;
  readonly streams: readonly string[];
  readonly labels: Readonly<Record<string, string>>;
  /** One-off windows: ISO 8601. */
  readonly start?: string;
  readonly end?: string;
  /** Recurring windows: the schedule ("0 6 * * 1 (Europe/Berlin)") and each occurrence's length in ms. */
  readonly schedule?: string;
  readonly duration_ms?: number;
  /** "config" (from the config file: ended by editing it) or "api". */
  readonly origin: 'config' | 'api';
  readonly created_by: string;
  /** Open now: the occurrence's start and end. */
  readonly open?: { readonly start: string; readonly end: string };
}

/** A window asked for by POST /api/v1/maintenance. */
export interface MaintenanceRequest {
  readonly streams: readonly string[];
  readonly labels: Readonly<Record<string, string>>;
  readonly start: number;
  readonly end: number;
  readonly reason: string;
}

export interface MaintenanceActions {
  list(): MaintenanceWindowJson[];
  /** The new window, or why not (a 400). */
  add(request: MaintenanceRequest, who: string): Promise<MaintenanceWindowJson | { readonly refused: string }>;
  /** Ends a window now: 'ended', 'unknown' (404) or 'config' (409: it is in the config file). Saved when it resolves. */
  end(id: string, who: string): Promise<'ended' | 'unknown' | 'config'>;
}

/** A label of an alert episode as the API shows it. */
export interface FeedbackJson {
  readonly fingerprint: string;
  readonly stream: string;
  readonly kind: string;
  readonly startsAt: string;
  readonly endsAt: string | null;
  readonly label: FeedbackLabel;
  readonly note: string;
  readonly who: string;
  readonly at: string;
}

/** What POST /api/v1/alerts/{fingerprint}/feedback asks for. */
export interface FeedbackRequest {
  readonly label: FeedbackLabel;
  readonly note: string;
  /** The episode's start (ms); absent: the alert's latest episode. */
  readonly startsAt?: number;
}

export interface FeedbackActions {
  /** Newest episode first. */
  list(): FeedbackJson[];
  /** Labels the episode (saved when it resolves), or 'unknown' when the daemon knows no such episode. */
  label(fingerprint: string, request: FeedbackRequest, who: string): Promise<FeedbackJson | 'unknown'>;
}

export interface AuditEvent {
  readonly who: string;
  readonly action: string;
  readonly target: string;
  readonly detail: string;
}

export interface OperatorApiOptions {
  /** Required to read (GET) when set: the status page's bearer token. */
  readonly readToken?: string;
  /** Required for every change; none = changes refused (403). */
  readonly adminToken?: string;
  readonly maintenance?: MaintenanceActions;
  readonly feedback?: FeedbackActions;
  /** Model versions (modelsApi.ts): they audit their changes themselves. */
  readonly models?: ModelsActions;
  readonly retrain?: RetrainActions;
  readonly audit: (event: AuditEvent) => void;
  /** Now (ms): a window's default start. */
  readonly now: () => number;
}

export interface ApiReply {
  readonly status: number;
  readonly body: unknown;
  readonly headers?: Readonly<Record<string, string>>;
}

export const MAX_BODY_BYTES = 64 * 1024;
/** Who made a change, as the audit trail names it: the admin token has one name. */
const ADMIN = 'admin';
const MAX_ID_LENGTH = 64;

export class OperatorApi {
  constructor(private readonly o: OperatorApiOptions) {}

  /** Whether this API answers the path (the HTTP server routes the rest as before). */
  handles(path: string): boolean {
    return path === '/api/v1/maintenance' || path.startsWith('/api/v1/maintenance/') || path === '/api/v1/feedback' || FEEDBACK_PATH.test(path) || isModelsPath(path) || RETRAIN_PATH.test(path);
  }

  async handle(req: IncomingMessage, path: string): Promise<ApiReply> {
    const method = req.method ?? 'GET';
    const change = method !== 'GET' && method !== 'HEAD';
    const denied = this.deny(req.headers.authorization, change);
    if (denied) return denied;
    if (path === '/api/v1/feedback' || FEEDBACK_PATH.test(path)) return this.feedback(req, path, method, change);
    if (isModelsPath(path)) return modelsRoute(this.o.models, path, method, change, () => readJson(req), ADMIN);
    if (RETRAIN_PATH.test(path)) return retrainReply(this.o.retrain, path, method, ADMIN, this.o.audit);
    return this.maintenance(req, path, method, change);
  }

  /** Whether a change can be made at all (an admin token is configured): the status page offers labelling then. */
  get changesEnabled(): boolean {
    return this.o.adminToken !== undefined;
  }

  /**
   * Labels an episode for the status page's form (telemetry/labelPage.ts), whose admin token comes in the form
   * instead of a header: the same checks, the same audit, the same answers as POST .../feedback.
   */
  async labelEpisode(adminToken: string, fingerprint: string, body: unknown): Promise<ApiReply> {
    const denied = this.deny(`Bearer ${adminToken}`, true);
    return denied ?? this.label(fingerprint, body);
  }

  private async feedback(req: IncomingMessage, path: string, method: string, change: boolean): Promise<ApiReply> {
    const feedback = this.o.feedback;
    if (!feedback) return { status: 404, body: { error: 'alert labels are not available' } };
    if (path === '/api/v1/feedback') return change ? methodNotAllowed('GET, HEAD') : { status: 200, body: { feedback: feedback.list() } };
    if (method !== 'POST') return methodNotAllowed('POST');
    const fingerprint = decoded(FEEDBACK_PATH.exec(path)?.[1] ?? '');
    const body = await readJson(req);
    if ('error' in body) return { status: body.status, body: { error: body.error } };
    return this.label(fingerprint, body.value);
  }

  private async label(fingerprint: string, body: unknown): Promise<ApiReply> {
    const feedback = this.o.feedback;
    if (!feedback) return { status: 404, body: { error: 'alert labels are not available' } };
    const request = feedbackRequest(body);
    if ('refused' in request) return { status: 400, body: { error: request.refused } };
    const labelled = await feedback.label(fingerprint, request, ADMIN);
    if (labelled === 'unknown') return { status: 404, body: { error: `no alert episode with fingerprint '${fingerprint}'${request.startsAt !== undefined ? ` starting at ${new Date(request.startsAt).toISOString()}` : ''} among the firing alerts and the last episodes (GET /api/v1/alerts)` } };
    this.o.audit({ who: ADMIN, action: 'feedback', target: `${fingerprint}@${labelled.startsAt}`, detail: `${labelled.label}${labelled.note ? `: ${labelled.note}` : ''}` });
    return { status: 201, body: labelled };
  }

  private async maintenance(req: IncomingMessage, path: string, method: string, change: boolean): Promise<ApiReply> {
    const segments = path.split('/').slice(4); // ['', 'api', 'v1', 'maintenance', ...]
    const maintenance = this.o.maintenance;
    if (!maintenance) return { status: 404, body: { error: 'maintenance windows are not available' } };
    if (segments.length === 0) {
      if (!change) return { status: 200, body: { windows: maintenance.list() } };
      if (method !== 'POST') return methodNotAllowed('GET, HEAD, POST');
      const body = await readJson(req);
      if ('error' in body) return { status: body.status, body: { error: body.error } };
      const request = maintenanceRequest(body.value, this.o.now());
      if ('refused' in request) return { status: 400, body: { error: request.refused } };
      const window = await maintenance.add(request, ADMIN);
      if ('refused' in window) return { status: 400, body: { error: window.refused } };
      this.o.audit({ who: ADMIN, action: 'maintenance_add', target: window.id, detail: `${window.reason}; ${window.start ?? ''} to ${window.end ?? ''}` });
      return { status: 201, body: window, headers: { location: `/api/v1/maintenance/${encodeURIComponent(window.id)}` } };
    }
    const id = decoded(segments[0]);
    if (segments.length > 1 || id.length === 0 || id.length > MAX_ID_LENGTH) return { status: 404, body: { error: 'not found' } };
    if (!change) {
      const window = maintenance.list().find((w) => w.id === id);
      return window ? { status: 200, body: window } : { status: 404, body: { error: `no maintenance window '${id}'` } };
    }
    if (method !== 'DELETE') return methodNotAllowed('GET, HEAD, DELETE');
    const outcome = await maintenance.end(id, ADMIN);
    if (outcome === 'unknown') return { status: 404, body: { error: `no maintenance window '${id}'` } };
    if (outcome === 'config') return { status: 409, body: { error: `maintenance window '${id}' is in the config file: remove it there and reload` } };
    this.o.audit({ who: ADMIN, action: 'maintenance_end', target: id, detail: 'ended by the operator' });
    return { status: 204, body: null };
  }

  /** The refusal for this request's credentials, or null when it may go on. */
  private deny(header: string | undefined, change: boolean): ApiReply | null {
    const unauthorized: ApiReply = { status: 401, body: { error: 'unauthorized' }, headers: { 'www-authenticate': 'Bearer realm="anomalyd"' } };
    if (!change) {
      if (!this.o.readToken) return null;
      return matches(header, this.o.readToken) || (this.o.adminToken !== undefined && matches(header, this.o.adminToken)) ? null : unauthorized;
    }
    if (!this.o.adminToken) return { status: 403, body: { error: 'changes are disabled: no http.admin_token is configured' } };
    if (matches(header, this.o.adminToken)) return null;
    if (this.o.readToken && matches(header, this.o.readToken)) return { status: 403, body: { error: 'the read token cannot make changes: use the admin token' } };
    return unauthorized;
  }
}

/** POST /api/v1/alerts/{fingerprint}/feedback (fingerprints are hex; anything else is no alert of this daemon). */
const FEEDBACK_PATH = /^\/api\/v1\/alerts\/([^/]{1,64})\/feedback$/;
const FEEDBACK_KEYS = new Set(['label', 'note', 'startsAt']);

/** The label a POST body asks for, or why it cannot be one. */
export function feedbackRequest(value: unknown): FeedbackRequest | { refused: string } {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return { refused: 'the body must be a JSON object' };
  const body = value as Record<string, unknown>;
  const unknown = Object.keys(body).filter((k) => !FEEDBACK_KEYS.has(k));
  if (unknown.length > 0) return { refused: `unknown field(s): ${unknown.join(', ')} (known: ${[...FEEDBACK_KEYS].join(', ')})` };
  const label = body['label'];
  if (!isFeedbackLabel(label)) return { refused: `label must be one of ${FEEDBACK_LABELS.join(', ')}` };
  const note = body['note'] ?? '';
  if (typeof note !== 'string' || note.length > 1000) return { refused: 'note must be a string of at most 1,000 characters' };
  if (body['startsAt'] === undefined) return { label, note: note.trim() };
  const startsAt = isoTime(body['startsAt']);
  if (startsAt === null) return { refused: "startsAt must be the episode's start as ISO 8601 with a zone (as GET /api/v1/alerts shows it)" };
  return { label, note: note.trim(), startsAt };
}

/** A path segment decoded; a malformed escape is kept as written (it then names nothing: 404, not a 500). */
function decoded(segment: string): string {
  try {
    return decodeURIComponent(segment);
  } catch {
    return segment;
  }
}

function methodNotAllowed(allow: string): ApiReply {
  return { status: 405, body: { error: 'method not allowed' }, headers: { allow } };
}

/** Constant-time comparison of a bearer token (hashes first, so lengths do not leak). */
function matches(header: string | undefined, token: string): boolean {
  const m = /^Bearer (.+)$/.exec(header ?? '');
  if (!m) return false;
  return timingSafeEqual(createHash('sha256').update(m[1]).digest(), createHash('sha256').update(token).digest());
}

async function readJson(req: IncomingMessage): Promise<{ value: unknown } | { status: number; error: string }> {
  const type = req.headers['content-type'] ?? '';
  if (!/^application\/json\b/i.test(type)) return { status: 415, error: 'the body must be JSON (Content-Type: application/json)' };
  const body = await readBody(req);
  if ('error' in body) return body;
  try {
    return { value: JSON.parse(body.bytes.toString('utf8')) as unknown };
  } catch {
    return { status: 400, error: 'the body is not valid JSON' };
  }
}

/** A request body of at most MAX_BODY_BYTES (413 beyond, without reading the rest into memory). */
export async function readBody(req: IncomingMessage): Promise<{ bytes: Buffer } | { status: number; error: string }> {
  const declared = Number(req.headers['content-length'] ?? NaN);
  if (declared > MAX_BODY_BYTES) return { status: 413, error: `the body is larger than ${MAX_BODY_BYTES} bytes` };
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > MAX_BODY_BYTES) return { status: 413, error: `the body is larger than ${MAX_BODY_BYTES} bytes` };
    chunks.push(chunk);
  }
  return { bytes: Buffer.concat(chunks) };
}

const KEYS = new Set(['streams', 'labels', 'start', 'end', 'reason']);

/** The window a POST body asks for, or why it cannot be one. */
export function maintenanceRequest(value: unknown, now: number): MaintenanceRequest | { refused: string } {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return { refused: 'the body must be a JSON object' };
  const body = value as Record<string, unknown>;
  const unknown = Object.keys(body).filter((k) => !KEYS.has(k));
  if (unknown.length > 0) return { refused: `unknown field(s): ${unknown.join(', ')} (known: ${[...KEYS].join(', ')})` };
  const streams = body['streams'] === undefined ? ['**'] : typeof body['streams'] === 'string' ? [body['streams']] : body['streams'];
  if (!Array.isArray(streams) || streams.length === 0 || streams.length > 1000 || !streams.every((s) => typeof s === 'string' && s.length > 0 && s.length <= 256)) {
    return { refused: 'streams must be a glob over stream ids or a list of them' };
  }
  const labels = body['labels'] ?? {};
  if (typeof labels !== 'object' || labels === null || Array.isArray(labels) || !Object.values(labels).every((v) => typeof v === 'string')) {
    return { refused: 'labels must be an object of strings, e.g. {"line": "line1"}' };
  }
  const reason = body['reason'];
  if (typeof reason !== 'string' || reason.trim().length === 0 || reason.length > 256) return { refused: 'reason is required (a string of at most 256 characters)' };
  const start = body['start'] === undefined ? now : isoTime(body['start']);
  if (start === null) return { refused: 'start must be an ISO 8601 time with a zone (default now)' };
  const end = isoTime(body['end']);
  if (end === null) return { refused: 'end is required: an ISO 8601 time with a zone' };
  if (end <= start) return { refused: 'end must be after start' };
  if (end <= now) return { refused: 'end is in the past' };
  return { streams: streams as string[], labels: labels as Record<string, string>, start, end, reason: reason.trim() };
}

const ISO = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:\d{2})$/;

function isoTime(v: unknown): number | null {
  if (typeof v !== 'string' || !ISO.test(v)) return null;
  const t = Date.parse(v);
  return Number.isFinite(t) ? t : null;
}
