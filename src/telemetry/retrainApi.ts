// POST /api/v1/streams/{id}/retrain starts a retrain of the stream's model (202 with the job; 404 unknown stream;
// 409 while one of its model runs or is queued, or when retraining is off for it); GET answers the stream's last
// job (404 when it has none). The stream id may be written as it is (`line1/pump1`) or URL-encoded. Routed and
// authorised by the operator API (operatorApi.ts): reading with the read token, starting with the admin token,
// and a start is audited as action `retrain`.

/** The operator API's reply and audit event (the same shapes as operatorApi.ts, which imports this file). */
interface ApiReply {
  readonly status: number;
  readonly body: unknown;
  readonly headers?: Readonly<Record<string, string>>;
}
interface AuditEvent {
  readonly who: string;
  readonly action: string;
  readonly target: string;
  readonly detail: string;
}

/** A retrain job as the API shows it (id, stream, model, trigger, state, reason, times, version, metrics). */
export type RetrainJobJson = Readonly<Record<string, unknown>> & { readonly id: string; readonly stream: string; readonly model: string; readonly state: string };

export interface RetrainActions {
  /** Starts (queues) a retrain of the stream's model, or says why not. */
  request(stream: string): RetrainJobJson | { readonly refused: 'unknown' | 'off' | 'running' | 'not_scored'; readonly reason: string };
  /** The stream's last job; 'unknown' for a stream the daemon does not know, null when it has had none. */
  last(stream: string): RetrainJobJson | null | 'unknown';
}

export const RETRAIN_PATH = /^\/api\/v1\/streams\/(.{1,400})\/retrain$/;

export function retrainReply(actions: RetrainActions | undefined, path: string, method: string, who: string, audit: (e: AuditEvent) => void): ApiReply {
  if (!actions) return { status: 404, body: { error: 'retraining is not available' } };
  const raw = RETRAIN_PATH.exec(path)?.[1] ?? '';
  let stream: string;
  try {
    stream = decodeURIComponent(raw);
  } catch {
    stream = raw;
  }
  if (method === 'GET' || method === 'HEAD') {
    const last = actions.last(stream);
    if (last === 'unknown') return { status: 404, body: { error: `no stream '${stream}'` } };
    if (last === null) return { status: 404, body: { error: `stream '${stream}' has had no retrain` } };
    return { status: 200, body: last };
  }
  if (method !== 'POST') return { status: 405, body: { error: 'method not allowed' }, headers: { allow: 'GET, HEAD, POST' } };
  const job = actions.request(stream);
  if ('refused' in job) return { status: job.refused === 'unknown' ? 404 : 409, body: { error: job.reason } };
  audit({ who, action: 'retrain', target: stream, detail: `job ${job.id} of model ${job.model}` });
  return { status: 202, body: job, headers: { location: `/api/v1/streams/${encodeURIComponent(stream)}/retrain` } };
}
