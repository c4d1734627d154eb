// Readiness (and optional liveness) checks for /readyz and /healthz. A check is a name and a function saying
// ok or why not; a slow check is cut off so a probe never hangs longer than the kubelet's timeout.
import type { StatusModel } from './status';

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
    return { name: c.name, ok: false, detail: `check failed: ${err instanceof Error ? err.message : String(err)}` };
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
