// What a config reload (SIGHUP) may change, per top-level config section. Components (sinks, sources) say it in
// their registry entries (sinkRegistry.ts, sourceRegistry.ts); the sections no component owns say it in
// OTHER_SECTIONS below. Both are merged into RELOAD_POLICY, which planReload (reload.ts) follows. A section
// missing from it waits for a restart; the compiler (OTHER_SECTIONS' type) and a unit test refuse a new
// top-level section that nobody classified.
import type { Config } from '../config/schema';

/** What a reload does with the settings of one component kind, read at one config path. */
export interface LiveSettings {
  /**
   * rebuild: a changed instance is replaced (the old one is stopped first, so it flushes or persists what it
   * holds, and the new one takes over its outbox or spool); update: the running instance takes the new settings;
   * restart: nothing changes until the daemon restarts.
   */
  readonly by: 'rebuild' | 'update' | 'restart';
  /** Settings inside the path (mapping keys, dotted) that wait for a restart all the same. */
  readonly restartOnly?: readonly string[];
}

/** A component kind as the reload policy sees it: the config paths it reads (`sinks.influx`, `mqtt`) and how. */
export interface ReloadableKind {
  readonly reads: Readonly<Record<string, LiveSettings>>;
}

/** How a reload treats one top-level section. */
export interface SectionReload {
  readonly live: boolean;
  /** For a live section: paths inside it (dotted, mapping keys only) that keep their running value. */
  readonly restartOnly: readonly string[];
}

/** The component-owned top-level sections (their kinds are in the registries). */
type ComponentSection = 'mqtt' | 'subscriptions' | 'sinks' | 'opcua';

/**
 * Everything that is not a sink or a source. Restart-only sections are built into something a reload would
 * have to tear down: a listening socket (http), files under state_dir, pre-sized queues and limits, the
 * inference backend, the simulator's publishers, the replica's share of the streams (shard).
 */
const OTHER_SECTIONS: Readonly<Record<Exclude<keyof Config, ComponentSection>, SectionReload>> = {
  // The logger's level changes in place; its format is fixed when it is made.
  log: { live: true, restartOnly: ['format'] },
  http: { live: false, restartOnly: [] },
  state_dir: { live: false, restartOnly: [] },
  shutdown_grace_ms: { live: true, restartOnly: [] },
  models: { live: true, restartOnly: [] },
  // auto_learn_windows sizes the collection of streams already learning; the rest applies to later windows.
  defaults: { live: true, restartOnly: ['training.auto_learn_windows'] },
  auto_learn: { live: true, restartOnly: [] },
  streams: { live: true, restartOnly: [] },
  queues: { live: false, restartOnly: [] },
  batching: { live: false, restartOnly: [] },
  inference: { live: false, restartOnly: [] },
  simulator: { live: false, restartOnly: [] },
  limits: { live: false, restartOnly: [] },
  shard: { live: false, restartOnly: [] },
  // Read only by the offline commands, so a change has nothing to wait for.
  csv: { live: true, restartOnly: [] },
  // The config's windows are swapped in the running calendar; those made through the API stay.
  maintenance: { live: true, restartOnly: [] },
  // Read by the retrainer at each tick and job, so a change applies to the next decision (retrainer.ts).
  retrain: { live: true, restartOnly: [] },
};

/**
 * The policy of every top-level section: OTHER_SECTIONS plus what the component kinds declare. A kind reading a
 * nested path (`sinks.influx`) makes its top-level section live; if the kind itself waits for a restart, its
 * path becomes a restart-only path of that section. Throws when two declarations contradict each other.
 */
export function reloadPolicy(kinds: readonly ReloadableKind[]): ReadonlyMap<string, SectionReload> {
  const policy = new Map<string, { live: boolean; restartOnly: string[] }>();
  for (const [section, p] of Object.entries(OTHER_SECTIONS)) policy.set(section, { live: p.live, restartOnly: [...p.restartOnly] });
  for (const kind of kinds) {
    for (const [at, how] of Object.entries(kind.reads)) {
      const [top = at, ...rest] = at.split('.');
      const inner = rest.join('.');
      if (Object.hasOwn(OTHER_SECTIONS, top)) throw new Error(`reload policy: ${at} is read by a component but ${top} is classified as a non-component section`);
      const live = inner === '' ? how.by !== 'restart' : true;
      const was = policy.get(top);
      if (was && was.live !== live) throw new Error(`reload policy: ${top} is declared both live and restart-only`);
      const entry = was ?? { live, restartOnly: [] };
      const prefix = inner === '' ? '' : `${inner}.`;
      if (inner !== '' && how.by === 'restart') entry.restartOnly.push(inner);
      else if (live) entry.restartOnly.push(...(how.restartOnly ?? []).map((p) => `${prefix}${p}`));
      policy.set(top, entry);
    }
  }
  return policy;
}
