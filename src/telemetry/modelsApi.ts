// The model routes of the operator API (telemetry/operatorApi.ts routes them here after its token checks):
// GET /api/v1/models lists each model's live version, its shadow with what the shadow counted, and every
// stored version newest first; POST /api/v1/models/{name}/promote {"version": "v3"} (default: the shadow)
// and POST /api/v1/models/{name}/rollback change the live version. The actions save the change before they
// resolve, and audit it themselves (an automatic promotion is audited the same way); this file only maps HTTP to
// them: an unknown model or version is 404, nothing to promote or roll back to is 409.

/** One stored version of a model, as the API shows it. */
export interface ModelVersionJson {
  readonly version: string;
  /** live, shadow, or null for a stored version doing nothing. */
  readonly role: 'live' | 'shadow' | null;
  readonly created_at: string | null;
  /** configured or learned (v1), else the retrain's trigger: schedule, drift, operator. */
  readonly trigger: string;
  readonly stream: string;
  readonly data_hash: string;
  readonly windows: number | null;
  /** The period of the training data; null where the artifact does not say (v1). */
  readonly period: { readonly from: string; readonly to: string } | null;
  readonly metrics: Readonly<Record<string, number>>;
  readonly dir: string;
}

/** What a shadow counted since it started (or since the live version last changed). */
export interface ShadowJson {
  readonly version: string;
  readonly since: string;
  readonly windows: number;
  /** Windows its lane had no room for. */
  readonly dropped: number;
  /** Anomaly episodes it would have fired, and the live model's over the same period and streams. */
  readonly would_be_episodes: number;
  readonly open_episodes: number;
  readonly live_episodes: number;
  readonly alert_rate_ratio: number;
  /** Labelled episodes of the period, how many the shadow agrees with, and the share (null: none labelled). */
  readonly labelled_episodes: number;
  readonly agreed: number;
  readonly label_agreement: number | null;
}

export interface ModelJson {
  readonly name: string;
  readonly live: string;
  readonly shadow: ShadowJson | null;
  /** Earlier live versions, the last is where a rollback returns. */
  readonly history: readonly string[];
  /** Newest first. */
  readonly versions: readonly ModelVersionJson[];
}

export interface ModelChange {
  readonly model: string;
  readonly live: string;
  readonly previous: string;
}

/** 'unknown': no such model or version (404); 'conflict': nothing to promote or roll back to (409). */
export interface ModelRefusal {
  readonly refused: 'unknown' | 'conflict';
  readonly reason: string;
}

export interface ModelList {
  readonly models: readonly ModelJson[];
  /** Models auto streams learned, with no version but v1, beyond the ones listed. */
  readonly learnedNotListed: number;
}

export interface ModelsActions {
  list(): Promise<ModelList>;
  promote(model: string, version: string | undefined, who: string): Promise<ModelChange | ModelRefusal>;
  rollback(model: string, who: string): Promise<ModelChange | ModelRefusal>;
}

export interface ModelsReply {
  readonly status: number;
  readonly body: unknown;
  readonly headers?: Readonly<Record<string, string>>;
}

export type BodyReader = () => Promise<{ value: unknown } | { status: number; error: string }>;

const MODEL_PATH = /^\/api\/v1\/models\/([^/]{1,256})\/(promote|rollback)$/;

export function isModelsPath(path: string): boolean {
  return path === '/api/v1/models' || path.startsWith('/api/v1/models/');
}

export async function modelsRoute(actions: ModelsActions | undefined, path: string, method: string, change: boolean, body: BodyReader, who: string): Promise<ModelsReply> {
  if (!actions) return { status: 404, body: { error: 'model versions are not available' } };
  if (path === '/api/v1/models') {
    if (change) return notAllowed('GET, HEAD');
    const { models, learnedNotListed } = await actions.list();
    return { status: 200, body: { models, learned_not_listed: learnedNotListed } };
  }
  const m = MODEL_PATH.exec(path);
  if (!m) return { status: 404, body: { error: 'not found' } };
  if (method !== 'POST') return notAllowed('POST');
  const model = decoded(m[1]);
  if (m[2] === 'rollback') return reply(await actions.rollback(model, who));
  const read = await body();
  if ('error' in read) return { status: read.status, body: { error: read.error } };
  const request = promoteRequest(read.value);
  if ('refused' in request) return { status: 400, body: { error: request.refused } };
  return reply(await actions.promote(model, request.version, who));
}

/** The version a promote body names (absent: the shadow), or why the body is not one. */
export function promoteRequest(value: unknown): { version: string | undefined } | { refused: string } {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return { refused: 'the body must be a JSON object' };
  const body = value as Record<string, unknown>;
  const unknown = Object.keys(body).filter((k) => k !== 'version');
  if (unknown.length > 0) return { refused: `unknown field(s): ${unknown.join(', ')} (known: version)` };
  const version = body['version'];
  if (version === undefined) return { version: undefined };
  if (typeof version !== 'string' || !/^v[0-9]{1,9}$/.test(version)) return { refused: 'version must be a version id such as "v3" (GET /api/v1/models lists them)' };
  return { version };
}

function reply(outcome: ModelChange | ModelRefusal): ModelsReply {
  if ('refused' in outcome) return { status: outcome.refused === 'unknown' ? 404 : 409, body: { error: outcome.reason } };
  return { status: 200, body: outcome };
}

function notAllowed(allow: string): ModelsReply {
  return { status: 405, body: { error: 'method not allowed' }, headers: { allow } };
}

function decoded(segment: string): string {
  try {
    return decodeURIComponent(segment);
  } catch {
    return segment;
  }
}
