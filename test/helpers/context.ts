// A ComponentContext for tests: records every event call (name + args) and log line, with a manual or system clock.
import { systemClock, type Clock } from '../../src/core/clock';
import type { ComponentContext, Events, Log, LogFields } from '../../src/core/context';

export interface RecordedEvent {
  readonly name: keyof Events;
  readonly args: readonly unknown[];
}

export interface TestContext {
  readonly ctx: ComponentContext;
  readonly events: RecordedEvent[];
  readonly logs: { level: string; msg: string; fields?: LogFields }[];
  readonly abort: AbortController;
  /** Calls of one event, e.g. calls('messageRejected'). */
  calls<K extends keyof Events>(name: K): Parameters<Events[K]>[];
}

export function testContext(id = 'test', clock: Clock = systemClock): TestContext {
  const events: RecordedEvent[] = [];
  const logs: { level: string; msg: string; fields?: LogFields }[] = [];
  const log = (base: LogFields): Log => ({
    error: (msg, fields) => logs.push({ level: 'error', msg, fields: { ...base, ...fields } }),
    warn: (msg, fields) => logs.push({ level: 'warn', msg, fields: { ...base, ...fields } }),
    info: (msg, fields) => logs.push({ level: 'info', msg, fields: { ...base, ...fields } }),
    debug: (msg, fields) => logs.push({ level: 'debug', msg, fields: { ...base, ...fields } }),
    child: (fields) => log({ ...base, ...fields }),
  });
  const recorder = new Proxy({} as Events, {
    get: (_t, name: string) => (...args: unknown[]) => events.push({ name: name as keyof Events, args }),
  });
  const abort = new AbortController();
  return {
    ctx: { id, log: log({ component: id }), events: recorder, clock, signal: abort.signal },
    events,
    logs,
    abort,
    calls: <K extends keyof Events>(name: K) => events.filter((e) => e.name === name).map((e) => e.args as Parameters<Events[K]>),
  };
}
