// Delivery policy shared by the alert sinks (webhook, Alertmanager): which HTTP outcomes are worth retrying,
// how long to wait, and how a target URL and a failure are presented without leaking credentials. Pure, so the
// policy is unit-tested without timers or sockets.

export interface BackoffPolicy {
  /** Delay before the first retry (ms). */
  readonly baseMs: number;
  /** Upper bound of any delay (ms), also the interval of retries past max_retries. */
  readonly capMs: number;
  /** Random spread as a fraction (0.2 = -20 % .. +20 %), so receivers coming back are not hit in step. */
  readonly jitter: number;
}

/** delivered: 2xx; retry: 429, 5xx (and transport errors, classified by the caller); rejected: anything else. */
export type AttemptOutcome = 'delivered' | 'retry' | 'rejected';

export function classifyStatus(status: number): AttemptOutcome {
  if (status >= 200 && status < 300) return 'delivered';
  if (status === 429 || status >= 500) return 'retry';
  // Other 4xx (and unexpected 1xx/3xx): the receiver refuses this request; sending it again cannot help.
  return 'rejected';
}

/** Delay before retry number `attempt` (1-based): base x 2^(attempt-1) with jitter, never above the cap. */
export function backoffDelay(attempt: number, policy: BackoffPolicy, random: () => number = Math.random): number {
  const exponent = Math.min(Math.max(attempt - 1, 0), 30);
  const raw = Math.min(policy.capMs, policy.baseMs * 2 ** exponent);
  const spread = 1 - policy.jitter + 2 * policy.jitter * random();
  return Math.round(Math.min(policy.capMs, Math.max(0, raw * spread)));
}

/** A Retry-After header (seconds or an HTTP date) as milliseconds from `now`; null when absent or unreadable. */
export function retryAfterMs(header: string | null, now: number): number | null {
  if (header === null || header.trim() === '') return null;
  const text = header.trim();
  if (/^\d+$/.test(text)) return Number(text) * 1000;
  const date = Date.parse(text);
  return Number.isNaN(date) ? null : Math.max(0, date - now);
}

/** fetch refuses URLs with user:password; they become a Basic Authorization header instead. */
export function splitCredentials(raw: string): { url: string; authorization: string | null } {
  const url = new URL(raw);
  if (!url.username && !url.password) return { url: raw, authorization: null };
  const basic = Buffer.from(`${decodeURIComponent(url.username)}:${decodeURIComponent(url.password)}`, 'utf8').toString('base64');
  url.username = '';
  url.password = '';
  return { url: url.toString(), authorization: `Basic ${basic}` };
}

/** A failed request as a short text: the error and its cause code (ECONNREFUSED...), never the URL or headers. */
export function describeFetchError(error: unknown): string {
  if (!(error instanceof Error)) return String(error);
  if (error.name === 'TimeoutError') return 'timed out';
  const cause = (error as { cause?: unknown }).cause;
  const code = typeof cause === 'object' && cause !== null ? (cause as { code?: unknown }).code : undefined;
  return typeof code === 'string' ? `${error.message} (${code})` : error.message;
}
