// Webhook sink: one receiver, Alertmanager webhook v4 bodies, delivered at least once and in order from a
// persisted outbox. 2xx: delivered. 5xx, 429, timeouts and connection errors: retried with capped exponential
// backoff and jitter (Retry-After honoured up to the cap). Other 4xx: rejected, counted and dropped (sending a
// request the receiver refuses again cannot help). After max_retries a notice is counted as failed but kept and
// retried at the cap interval: a pager must not lose a page because its receiver was down for an hour.
import { setTimeout as sleep } from 'node:timers/promises';
import { reachesPagers, type AlertNotice } from '../core/alert';
import { backoffDelay, classifyStatus, describeFetchError, retryAfterMs, splitCredentials, type AttemptOutcome, type BackoffPolicy } from '../core/alertDelivery';
import type { ComponentContext } from '../core/context';
import { webhookBody } from './alertPayload';
import { warmUpFetch } from './fetchWarmUp';
import { Outbox, type OutboxEntry } from './outbox';
import type { Sink, SinkStats } from './sink';
import { signature } from './webhookSignature';

export const WEBHOOK_DEFAULTS = { retryBaseMs: 500, retryMaxDelayMs: 60_000, maxOutboxNotices: 10_000, jitter: 0.2 } as const;

export interface WebhookSinkOptions {
  /** Receiver name: metrics label, log field and outbox file name. */
  readonly receiver: string;
  readonly url: string;
  /** HMAC-SHA256 key of the X-Anomalyd-Signature header; unset: unsigned. */
  readonly secret?: string;
  readonly headers?: Readonly<Record<string, string>>;
  readonly timeoutMs: number;
  readonly maxRetries: number;
  readonly sendResolved: boolean;
  /** Directory of the outbox file (the daemon's state_dir). */
  readonly stateDir: string;
  /** Base URL of the status page, for externalURL and generatorURL. */
  readonly externalUrl: string;
  readonly retryBaseMs?: number;
  readonly retryMaxDelayMs?: number;
  readonly maxOutboxNotices?: number;
  /** For tests: the jitter source. */
  readonly random?: () => number;
}

interface Attempt {
  readonly outcome: AttemptOutcome | 'stopped';
  readonly status: number | null;
  readonly detail: string;
  readonly retryAfterMs: number | null;
}

export class WebhookSink implements Sink {
  readonly name: string;
  private readonly outbox: Outbox;
  private readonly policy: BackoffPolicy;
  private readonly stopper = new AbortController();
  private readonly signal: AbortSignal;
  private readonly target: { url: string; authorization: string | null };
  /** Failed attempts of the head notice (reset when it leaves the outbox). */
  private attempts = 0;
  private started = false;
  private stopped = false;
  private beforeStart: AlertNotice[] = [];
  private loop: Promise<void> | null = null;
  private wake: (() => void) | null = null;

  constructor(
    private readonly ctx: ComponentContext,
    private readonly options: WebhookSinkOptions,
  ) {
    this.name = `webhook.${options.receiver}`;
    this.policy = {
      baseMs: options.retryBaseMs ?? WEBHOOK_DEFAULTS.retryBaseMs,
      capMs: options.retryMaxDelayMs ?? WEBHOOK_DEFAULTS.retryMaxDelayMs,
      jitter: WEBHOOK_DEFAULTS.jitter,
    };
    this.signal = AbortSignal.any([ctx.signal, this.stopper.signal]);
    this.target = splitCredentials(options.url);
    this.outbox = new Outbox({
      dir: options.stateDir,
      receiver: options.receiver,
      maxNotices: options.maxOutboxNotices ?? WEBHOOK_DEFAULTS.maxOutboxNotices,
      onWriteError: (error) => ctx.events.sinkError(this.name, true, `outbox write failed: ${error.message}`),
    });
  }

  async start(): Promise<void> {
    if (this.started || this.stopped) return;
    const [loaded] = await Promise.all([this.outbox.open(), warmUpFetch()]);
    this.started = true;
    if (loaded.corrupt > 0) {
      this.ctx.events.sinkDropped(this.name, 'spool_corrupt', loaded.corrupt, `${loaded.corrupt} damaged outbox line(s) skipped in ${this.outbox.file}`);
    }
    if (loaded.pending > 0) this.ctx.log.info('Resending undelivered alert notices.', { receiver: this.options.receiver, pending: loaded.pending });
    for (const notice of this.beforeStart) this.accept(notice);
    this.beforeStart = [];
    this.loop = this.run();
  }

  /** Never blocks: the notice goes to the outbox (disk write in the background) and the delivery loop wakes. */
  writeAlert(notice: AlertNotice): void {
    // Summarised (one stall among many at once): the summary pages for it.
    if (this.stopped || !reachesPagers(notice)) return;
    if (notice.status === 'resolved' && !this.options.sendResolved) return;
    if (!this.started) this.beforeStart.push(notice);
    else this.accept(notice);
  }

  async flush(): Promise<void> {
    await this.outbox.flush();
  }

  /** Stops delivering (an attempt in flight is abandoned and repeated, same key, at the next start). */
  async stop(): Promise<void> {
    if (this.stopped) {
      await this.loop;
      return;
    }
    this.stopped = true;
    this.stopper.abort();
    this.wake?.();
    await this.loop;
    if (this.started) await this.outbox.close();
  }

  stats(): SinkStats {
    return { buffered: this.outbox.size + this.beforeStart.length, spooledBytes: this.outbox.bytes };
  }

  private accept(notice: AlertNotice): void {
    for (const evicted of this.outbox.add(notice)) {
      this.ctx.events.sinkDropped(this.name, 'overflow', 1, `outbox full, oldest notice ${evicted.key} dropped`);
    }
    this.wake?.();
  }

  private async run(): Promise<void> {
    let headKey: string | null = null;
    while (!this.signal.aborted) {
      const entry = this.outbox.first();
      if (!entry) {
        await new Promise<void>((resolve) => (this.wake = resolve));
        this.wake = null;
        continue;
      }
      if (entry.key !== headKey) {
        headKey = entry.key;
        this.attempts = 0;
      }
      const attempt = await this.deliver(entry);
      if (attempt.outcome === 'stopped') return;
      await this.settle(entry, attempt);
    }
  }

  private async settle(entry: OutboxEntry, attempt: Attempt): Promise<void> {
    const { receiver } = this.options;
    if (attempt.outcome === 'delivered') {
      this.outbox.markDone(entry.key, 'delivered');
      this.ctx.events.webhookDelivery(receiver, 'success', attempt.status, `notice ${entry.key} delivered`);
      this.ctx.events.sinkWritten(this.name, 1);
      return;
    }
    if (attempt.outcome === 'rejected') {
      this.outbox.markDone(entry.key, 'rejected');
      this.ctx.events.webhookDelivery(receiver, 'rejected', attempt.status, `notice ${entry.key}: ${attempt.detail}`);
      this.ctx.events.sinkDropped(this.name, 'rejected', 1, `notice ${entry.key}: ${attempt.detail}`);
      return;
    }
    this.attempts++;
    const exhausted = this.attempts > this.options.maxRetries;
    this.ctx.events.webhookDelivery(receiver, exhausted ? 'failed' : 'retry', attempt.status, `notice ${entry.key} attempt ${this.attempts}: ${attempt.detail}`);
    const delay = exhausted ? this.policy.capMs : (attempt.retryAfterMs ?? backoffDelay(this.attempts, this.policy, this.options.random));
    try {
      await sleep(Math.min(delay, this.policy.capMs), undefined, { signal: this.signal });
    } catch {
      // Aborted: stop() or daemon shutdown; the notice stays in the outbox.
    }
  }

  private async deliver(entry: OutboxEntry): Promise<Attempt> {
    const body = JSON.stringify(webhookBody(entry.notice, { receiver: this.options.receiver, externalUrl: this.options.externalUrl }));
    const headers: Record<string, string> = {
      ...this.options.headers,
      'content-type': 'application/json',
      'user-agent': 'anomalyd',
      'idempotency-key': entry.key,
    };
    if (this.target.authorization) headers['authorization'] = this.target.authorization;
    if (this.options.secret) headers['x-anomalyd-signature'] = signature(this.options.secret, body, this.ctx.clock.now());
    try {
      const response = await fetch(this.target.url, {
        method: 'POST',
        headers,
        body,
        signal: AbortSignal.any([this.signal, AbortSignal.timeout(this.options.timeoutMs)]),
      });
      // Always read the body so the connection returns to the pool; its start helps explain a refusal.
      const text = await response.text();
      const outcome = classifyStatus(response.status);
      return {
        outcome,
        status: response.status,
        detail: outcome === 'rejected' && text ? `HTTP ${response.status}: ${text.slice(0, 200)}` : `HTTP ${response.status}`,
        retryAfterMs: outcome === 'retry' ? retryAfterMs(response.headers.get('retry-after'), this.ctx.clock.now()) : null,
      };
    } catch (error) {
      if (this.signal.aborted) return { outcome: 'stopped', status: null, detail: 'stopped', retryAfterMs: null };
      return { outcome: 'retry', status: null, detail: describeFetchError(error), retryAfterMs: null };
    }
  }
}


export { signature };
