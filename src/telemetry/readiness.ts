// Readiness (and optional liveness) checks for /readyz and /healthz. A check is a name and a function saying
// ok or why not; a slow check is cut off so a probe never hangs longer than the kubelet's timeout.
import type { Clock } from '../core/clock';
import type { RejectReason } from '../core/context';
import { errorMessage } from '../core/errors';
import type { IngestCounters, StatusModel } from './status';

export interface CheckResult {
  readonly ok: boolean;
  /** Why not (shown in the 503 body); optional when ok. */
  readonly detail?: string;
}

export interface ReadinessCheck {
  readonly name: string;
  check(): CheckResult | Promise<CheckResult>;
}

export interface CheckOutcome {
  readonly name: string;
  readonly ok: boolean;
  readonly detail: string;
}

export async function runChecks(checks: readonly ReadinessCheck[], timeoutMs: number): Promise<CheckOutcome[]> {
  return Promise.all(checks.map((c) => runOne(c, timeoutMs)));
}

async function runOne(c: ReadinessCheck, timeoutMs: number): Promise<CheckOutcome> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<CheckResult>((resolve) => {
    timer = setTimeout(() => resolve({ ok: false, detail: `check timed out after ${timeoutMs} ms` }), timeoutMs);
  });
  try {
    const r = await Promise.race([Promise.resolve().then(() => c.check()), timeout]);
    return { name: c.name, ok: r.ok, detail: r.detail ?? (r.ok ? 'ok' : 'not ready') };
  } catch (err) {
    return { name: c.name, ok: false, detail: `check failed: ${errorMessage(err)}` };
  } finally {
    clearTimeout(timer);
  }
}

/** Ready while the MQTT source reports a broker connection (from the mqttConnection events). */
export function mqttConnectedCheck(status: StatusModel): ReadinessCheck {
  return {
    name: 'mqtt',
    check: () => {
      const s = status.mqttState();
      return s.connected ? { ok: true, detail: 'connected' } : { ok: false, detail: `not connected to the broker: ${s.detail}` };
    },
  };
}

/** Ready once every named model has loaded (from the modelLoaded / modelFailed events); a function is asked at each probe (the names change on a config reload). */
export function modelsLoadedCheck(status: StatusModel, names: readonly string[] | (() => readonly string[])): ReadinessCheck {
  return {
    name: 'models',
    check: () => {
      const models = typeof names === 'function' ? names() : names;
      const views = new Map(status.modelViews().map((m) => [m.model, m]));
      const problems = models.flatMap((name) => {
        const v = views.get(name);
        if (!v) return [`'${name}' not loaded yet`];
        return v.state === 'failed' ? [`'${name}' failed to load: ${v.detail}`] : [];
      });
      return problems.length === 0 ? { ok: true, detail: `${models.length} loaded` } : { ok: false, detail: problems.join('; ') };
    },
  };
}

interface CounterSample extends IngestCounters {
  readonly at: number;
}

/**
 * Ready unless, for a whole window, messages kept arriving and none was accepted (each was rejected, or the
 * pipeline refused it): a daemon that receives but ingests nothing is not doing its job, though it is connected
 * and its models loaded. The counters are read at each probe, so the window is measured between probes:
 * - failing starts at the first probe that sees messages received and nothing accepted since the previous one
 *   (timed from that probe, so the measured span is never longer than the failing), and is reported once a probe
 *   at least `windowMs` later still sees messages arrive (and at least two failed): one bad message, or a bad
 *   burst shorter than the window, never fails it;
 * - any accepted sample ends it at once;
 * - no message at all for a window ends it too: silence is the stall alert's business, not readiness's.
 * The detail names the top rejection reason since failing started (or says none was counted).
 */
export function ingestingCheck(counters: () => IngestCounters, clock: Clock, windowMs: number): ReadinessCheck {
  let previous: CounterSample | null = null;
  /** The sample at the probe that first saw failing, or null while not failing. */
  let failingFrom: CounterSample | null = null;
  let lastArrivalAt = Number.NEGATIVE_INFINITY;
  return {
    name: 'ingest',
    check: () => {
      const now: CounterSample = { ...counters(), at: clock.now() };
      const before = previous;
      previous = now;
      if (!(windowMs > 0) || before === null) return { ok: true, detail: 'ingesting' };
      if (now.received > before.received) lastArrivalAt = now.at;
      if (now.accepted > before.accepted || now.at - lastArrivalAt >= windowMs) {
        failingFrom = null;
        return { ok: true, detail: 'ingesting' };
      }
      // From the counts before, timed from this probe: the failing began after the previous one, maybe just now.
      if (now.received > before.received) failingFrom ??= { ...before, at: now.at };
      if (failingFrom === null) return { ok: true, detail: 'ingesting' };
      const failed = now.received - failingFrom.received;
      const seconds = Math.round((now.at - failingFrom.at) / 1000);
      if (lastArrivalAt - failingFrom.at < windowMs || failed < 2) return { ok: true, detail: `ingesting (${failed} messages not accepted in the last ${seconds} s)` };
      return { ok: false, detail: `${failed} messages received in the last ${seconds} s and none accepted: ${topRejection(failingFrom.rejected, now.rejected)}` };
    },
  };
}

/** The reason most rejections had between two counts, for the readiness detail. */
function topRejection(before: ReadonlyMap<RejectReason, number>, after: ReadonlyMap<RejectReason, number>): string {
  let top: RejectReason | null = null;
  let most = 0;
  for (const [reason, count] of after) {
    const added = count - (before.get(reason) ?? 0);
    if (added > most) {
      top = reason;
      most = added;
    }
  }
  return top === null
    ? 'no rejection was counted, so the pipeline refused them (see the log: "Pipeline did not accept a message")'
    : `top rejection reason '${top}' (${most}; see anomalyd_messages_rejected_total and the status page)`;
}
