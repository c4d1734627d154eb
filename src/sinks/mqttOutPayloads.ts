// The JSON the mqtt_out sink publishes (a contract, docs/design.md "MQTT out"): a stream's latest scored window,
// and the state of one of its alerts, which is the webhook's alert object (alertPayload.ts) plus the idempotency
// key and the kind, so a receiver of both reads the same fields.
import type { AlertNotice } from '../core/alert';
import type { ScorePoint } from '../core/sink';
import { rfc3339, webhookAlert, type WebhookAlert } from './alertPayload';
import { idempotencyKey } from './outbox';

export interface ScorePayload {
  readonly stream: string;
  readonly model: string;
  readonly model_version: string | null;
  /** Window end, RFC 3339, and the same in epoch milliseconds. */
  readonly time: string;
  readonly ts: number;
  readonly score: number;
  readonly threshold: number;
  readonly p_value: number;
  readonly anomalous: boolean;
  readonly completeness: number;
  readonly channel_shares: Readonly<Record<string, number>>;
  /** Present where the stream computes expected values (ScorePoint.expected), with the reading and band beside them. */
  readonly expected?: Readonly<Record<string, number>>;
  readonly observed?: Readonly<Record<string, number>>;
  readonly tolerance?: Readonly<Record<string, number>>;
}

export function scorePayload(p: ScorePoint): ScorePayload {
  return {
    stream: p.stream,
    model: p.model,
    model_version: p.modelVersion ?? null,
    time: rfc3339(p.time),
    ts: p.time,
    score: p.score,
    threshold: p.threshold,
    p_value: p.pValue,
    anomalous: p.anomalous,
    completeness: p.completeness,
    channel_shares: p.channelShares,
    ...(p.expected !== undefined ? { expected: p.expected } : {}),
    ...(p.observed !== undefined ? { observed: p.observed } : {}),
    ...(p.tolerance !== undefined ? { tolerance: p.tolerance } : {}),
  };
}

export interface AlertStatePayload extends WebhookAlert {
  /** `<fingerprint>-<sequence>`, the same on every redelivery: receivers drop a message whose key they saw. */
  readonly key: string;
  readonly kind: AlertNotice['kind'];
  readonly stream: string;
}

export function alertStatePayload(notice: AlertNotice, externalUrl: string): AlertStatePayload {
  return { key: idempotencyKey(notice), kind: notice.kind, stream: notice.stream, ...webhookAlert(notice, externalUrl) };
}

/** What the status topic says (Home Assistant's default availability payloads). */
export const STATUS_ONLINE = 'online';
export const STATUS_OFFLINE = 'offline';
