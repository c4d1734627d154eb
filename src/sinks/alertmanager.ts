// Alertmanager sink: pushes alerts to a Prometheus Alertmanager's POST /api/v2/alerts, the way Prometheus does.
// Firing alerts are re-posted every repost interval, each post saying the alert ends four intervals later:
// Alertmanager then keeps them active while the daemon lives and resolves them by itself if it dies. A resolve
// is posted with its endsAt. Alertmanager identifies an alert by its label set, so a severity escalation also
// resolves the old (warning) label set. Undelivered posts are kept in memory, at most one per label set (the
// latest state wins), and retried with the webhook's backoff; the persisted outbox is the webhook's job.
// stop() posts what is queued once more, within one request timeout, and counts what still did not go out as
// dropped: the next instance re-asserts what is firing (reconcile), but a queued resolve exists only here.
import { setTimeout as sleep } from 'node:timers/promises';
import { reachesPagers, type AlertNotice } from '../core/alert';
import { backoffDelay, classifyStatus, describeFetchError, retryAfterMs, splitCredentials, type BackoffPolicy } from '../core/alertDelivery';
import type { ComponentContext } from '../core/context';
import { alertAnnotations, alertLabels, generatorUrl, rfc3339 } from './alertPayload';
import { warmUpFetch } from './fetchWarmUp';
import type { Sink, SinkStats } from './sink';

export const ALERTMANAGER_DEFAULTS = { retryBaseMs: 500, retryMaxDelayMs: 30_000, jitter: 0.2, expiryIntervals: 4 } as const;

export interface AlertmanagerSinkOptions {
  /** Base URL; alerts go to <url>/api/v2/alerts. */
  readonly url: string;
  readonly timeoutMs: number;
  readonly repostIntervalMs: number;
  /** Base URL of the status page, for generatorURL. */
  readonly externalUrl: string;
  readonly retryBaseMs?: number;
  readonly retryMaxDelayMs?: number;
  readonly headers?: Readonly<Record<string, string>>;
  readonly random?: () => number;
}

/** One element of the POST /api/v2/alerts body (Alertmanager's postableAlert). */
export interface PostableAlert {
  readonly labels: Record<string, string>;
  readonly annotations: Record<string, string>;
  readonly startsAt: string;
  readonly endsAt: string;
  readonly generatorURL: string;
}

export class AlertmanagerSink implements Sink {
  readonly name = 'alertmanager';
  private readonly endpoint: string;
  private readonly authorization: string | null;
  private readonly policy: BackoffPolicy;
  private readonly stopper = new AbortController();
  private readonly signal: AbortSignal;
  /** Aborted when stop() begins: ends a back-off pause, so the last post goes out at once. */
  private readonly pauses = new AbortController();
  /** The post in progress (taken off the queue), so flush() and stop() account for it. */
  private inFlight: readonly (readonly [string, AlertNotice])[] = [];
  /** Firing alerts by fingerprint: what the repost timer re-asserts. */
  private readonly firing = new Map<string, AlertNotice>();
  /** Posts waiting to go out, by label set. */
  private readonly queue = new Map<string, AlertNotice>();
  private timer: NodeJS.Timeout | null = null;
  private loop: Promise<void> | null = null;
  private wake: (() => void) | null = null;
  private stopped = false;

  constructor(
    private readonly ctx: ComponentContext,
    private readonly options: AlertmanagerSinkOptions,
  ) {
    const target = splitCredentials(`${options.url.replace(/\/+$/, '')}/api/v2/alerts`);
    this.endpoint = target.url;
    this.authorization = target.authorization;
    this.policy = {
      baseMs: options.retryBaseMs ?? ALERTMANAGER_DEFAULTS.retryBaseMs,
      capMs: options.retryMaxDelayMs ?? ALERTMANAGER_DEFAULTS.retryMaxDelayMs,
      jitter: ALERTMANAGER_DEFAULTS.jitter,
    };
    this.signal = AbortSignal.any([ctx.signal, this.stopper.signal]);
  }

  start(): Promise<void> {
    if (this.loop || this.stopped) return Promise.resolve();
    this.timer = setInterval(() => this.repost(), this.options.repostIntervalMs);
    this.timer.unref();
    this.loop = this.run();
    return warmUpFetch();
  }

  writeAlert(notice: AlertNotice): void {
    // Summarised (one stall among many at once): the summary pages for it.
    if (this.stopped || !reachesPagers(notice)) return;
    const previous = this.firing.get(notice.fingerprint);
    if (previous && identity(previous) !== identity(notice)) {
      // New label set (severity escalated): Alertmanager would otherwise keep the old one firing until it expires.
      this.enqueue({ ...previous, status: 'resolved', endsAt: this.ctx.clock.now() });
    }
    if (notice.status === 'firing') this.firing.set(notice.fingerprint, notice);
    else this.firing.delete(notice.fingerprint);
    this.enqueue(notice);
  }

  /**
   * After a restart: the alerts that were firing (AlertStateMachine.active()) are asserted again so
   * Alertmanager does not let them expire; unlike writeAlert this is not a new transition.
   */
  reconcile(active: readonly AlertNotice[]): void {
    for (const notice of active) {
      if (notice.status !== 'firing' || !reachesPagers(notice) || this.firing.has(notice.fingerprint)) continue;
      this.firing.set(notice.fingerprint, notice);
      this.enqueue(notice);
    }
  }

  /** Resolves when nothing is queued or being posted (or the sink stops): Alertmanager state is not persisted here. */
  async flush(): Promise<void> {
    while ((this.queue.size > 0 || this.inFlight.length > 0) && !this.signal.aborted && this.loop) await sleep(20);
  }

  async stop(): Promise<void> {
    if (this.stopped) {
      await this.loop;
      return;
    }
    this.stopped = true;
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    if (this.loop) {
      // The loop ends once the queue is empty or a post failed; a post that hangs is cut at the timeout.
      this.pauses.abort();
      this.wake?.();
      const deadline = setTimeout(() => this.stopper.abort(), this.options.timeoutMs);
      await this.loop;
      clearTimeout(deadline);
    }
    this.stopper.abort();
    const lost = this.queue.size;
    this.queue.clear();
    if (lost > 0) {
      const why = this.loop ? 'Alertmanager did not take them before the sink stopped' : 'the sink stopped without having started';
      this.ctx.events.sinkDropped(this.name, 'overflow', lost, `${lost} alert post(s) not delivered: ${why}`);
    }
  }

  stats(): SinkStats {
    return { buffered: this.queue.size + this.inFlight.length, spooledBytes: 0 };
  }

  /** The body element for a notice, endsAt computed at send time. */
  postable(notice: AlertNotice, now: number): PostableAlert {
    const endsAt = notice.status === 'resolved' && notice.endsAt !== null ? notice.endsAt : now + ALERTMANAGER_DEFAULTS.expiryIntervals * this.options.repostIntervalMs;
    return {
      labels: alertLabels(notice),
      annotations: alertAnnotations(notice),
      startsAt: rfc3339(notice.startsAt),
      endsAt: rfc3339(endsAt),
      generatorURL: generatorUrl(this.options.externalUrl, notice.stream),
    };
  }

  private repost(): void {
    for (const notice of this.firing.values()) this.enqueue(notice);
  }

  private enqueue(notice: AlertNotice): void {
    const key = identity(notice);
    // Map order is insertion order: delete first so the latest state goes out after older ones.
    this.queue.delete(key);
    this.queue.set(key, notice);
    this.wake?.();
  }

  private async run(): Promise<void> {
    let attempts = 0;
    while (!this.signal.aborted) {
      if (this.queue.size === 0) {
        if (this.stopped) return;
        await new Promise<void>((resolve) => (this.wake = resolve));
        this.wake = null;
        continue;
      }
      const batch = [...this.queue];
      this.queue.clear();
      this.inFlight = batch;
      const result = await this.post(batch.map(([, notice]) => notice));
      this.inFlight = [];
      if (result.outcome === 'stopped') {
        this.requeue(batch);
        return;
      }
      if (result.outcome === 'delivered') {
        attempts = 0;
        this.ctx.events.sinkWritten(this.name, batch.length);
        continue;
      }
      if (result.outcome === 'rejected') {
        attempts = 0;
        this.ctx.events.sinkDropped(this.name, 'rejected', batch.length, result.detail);
        continue;
      }
      this.requeue(batch);
      attempts++;
      this.ctx.events.sinkError(this.name, true, `post of ${batch.length} alert(s) failed (attempt ${attempts}): ${result.detail}`);
      // Stopping: that was the last attempt (stop() counts what is left).
      if (this.stopped) return;
      const delay = result.retryAfterMs ?? backoffDelay(attempts, this.policy, this.options.random);
      try {
        await sleep(Math.min(delay, this.policy.capMs), undefined, { signal: AbortSignal.any([this.signal, this.pauses.signal]) });
      } catch {
        // Aborted by stop() or shutdown.
      }
    }
  }

  /** Puts back what has not been superseded meanwhile, ahead of newer posts. */
  private requeue(batch: readonly (readonly [string, AlertNotice])[]): void {
    const newer = [...this.queue];
    this.queue.clear();
    for (const [key, notice] of batch) if (!newer.some(([k]) => k === key)) this.queue.set(key, notice);
    for (const [key, notice] of newer) this.queue.set(key, notice);
  }

  private async post(notices: readonly AlertNotice[]): Promise<{ outcome: 'delivered' | 'retry' | 'rejected' | 'stopped'; detail: string; retryAfterMs: number | null }> {
    const now = this.ctx.clock.now();
    const body = JSON.stringify(notices.map((n) => this.postable(n, now)));
    try {
      const response = await fetch(this.endpoint, {
        method: 'POST',
        headers: {
          ...this.options.headers,
          ...(this.authorization ? { authorization: this.authorization } : {}),
          'content-type': 'application/json',
          'user-agent': 'anomalyd',
        },
        body,
        signal: AbortSignal.any([this.signal, AbortSignal.timeout(this.options.timeoutMs)]),
      });
      const text = await response.text();
      const outcome = classifyStatus(response.status);
      const detail = outcome === 'delivered' ? `HTTP ${response.status}` : `HTTP ${response.status}: ${text.slice(0, 200)}`;
      return { outcome, detail, retryAfterMs: outcome === 'retry' ? retryAfterMs(response.headers.get('retry-after'), now) : null };
    } catch (error) {
      if (this.signal.aborted) return { outcome: 'stopped', detail: 'stopped', retryAfterMs: null };
      return { outcome: 'retry', detail: describeFetchError(error), retryAfterMs: null };
    }
  }
}

/** Alertmanager's identity of an alert: its label set. */
function identity(notice: AlertNotice): string {
  const labels = alertLabels(notice);
  return JSON.stringify(Object.keys(labels).sort().map((k) => [k, labels[k]]));
}
