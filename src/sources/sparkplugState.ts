// What a Sparkplug B host application must remember of each edge node, and what each message means given it. Pure:
// no I/O, no clock; the session (sparkplugSession.ts) turns the outcome into deliveries, counts and NCMDs.
//
// - NBIRTH/DBIRTH carry every metric of the node or device with its name, alias, datatype and current value: the
//   alias table is built anew from each birth (an alias may name another metric after a rebirth), and the values
//   start the stream's samples.
// - DATA messages report by exception: only the metrics that changed, often by alias alone and without a datatype.
//   A metric keeps its last value until it changes (as in the specification's host model), so each sample carries
//   every channel. Each distinct metric timestamp is one sample (the payload's timestamp stands in for metrics
//   without one).
// - Every message of a node except NDEATH carries seq, 0..255, one more than the node's previous message: a skip
//   or a step back means messages were lost or reordered, so the host's picture may be wrong: counted, and a
//   rebirth is wanted.
// - NDEATH (the node's MQTT will) carries the bdSeq of the NBIRTH it belongs to: a death whose bdSeq is not the
//   current birth's is a stale will of an earlier connection, and ignored. NDEATH takes the node and its devices
//   offline; DDEATH one device. Their DATA is refused until they are born again (and a rebirth is wanted).
// - Data of a node whose birth this process never saw (it started after the node): metrics with a name and a
//   datatype are usable; aliased ones are not (unknown alias, rebirth wanted).
// - Channels learnt from births (a subscription without `channels`, `channels` null here): each node's and
//   device's channels are the numeric metrics of its latest birth (learntChannels), and its samples say which
//   (SparkplugOutcome.channels, the same array until a birth changes the set). Whether a stream may take a
//   changed set is the pipeline's call (it knows whether a model learnt the old one). Data before any birth has
//   no channels to go to: refused (not_born), and a rebirth is wanted.
import type { RejectReason } from '../core/context';
import type { Sample } from '../core/types';
import { MAX_ABS_VALUE, Rejection, checkTime, type TimeLimits, type TimestampSource } from './decodeValues';
import { datatypeName, isNumericDatatype, metricValue, type SparkplugMetric, type SparkplugPayload } from './sparkplugPayload';
import type { SparkplugTopic } from './sparkplugTopic';

/** Edge nodes remembered per subscription; a flood of invented node ids is refused beyond it. */
export const MAX_SPARKPLUG_NODES = 10_000;

export interface SparkplugStateOptions {
  /** The subscription's channels, in model input order; null: each node's and device's, learnt from its births. */
  readonly channels: readonly string[] | null;
  readonly timestampSource: TimestampSource;
  readonly limits: TimeLimits;
  readonly maxNodes?: number;
}

export interface SparkplugNote {
  readonly reason: RejectReason;
  readonly detail: string;
}

export interface LivenessChange {
  readonly stream: string;
  readonly online: boolean;
  readonly reason: string;
}

export interface SparkplugOutcome {
  /** Samples of the message's stream, time-ordered (empty: nothing to deliver). */
  readonly samples: Sample[];
  /** The whole message was not used. */
  readonly rejected?: SparkplugNote;
  /** Metrics not used; the rest of the message was. */
  readonly notes: readonly SparkplugNote[];
  /** Why the edge node should be asked to send its births again; absent: no need. */
  readonly rebirth?: string;
  readonly seqGap?: { readonly expected: number; readonly got: number };
  /** Streams that went online (birth) or offline (death), before the samples. */
  readonly liveness: readonly LivenessChange[];
  /** The channels of `samples` where they were learnt from a birth (options.channels null). */
  readonly channels?: readonly string[];
}

/** At most this many channels are learnt from one birth (the config's limit on `channels`). */
export const MAX_LEARNT_CHANNELS = 256;

/** Metrics of a birth that are Sparkplug's own, never channels: bdSeq and the control/info/property folders. */
const NOT_A_CHANNEL = /^(bdSeq$|Node Control\/|Device Control\/|Node Info\/|Device Info\/|Properties\/)/;

/** What the config takes as a channel name (config/schemaIo.ts channelSchema). */
export const CHANNEL_NAME = /^[A-Za-z_][A-Za-z0-9_]{0,63}$/;

/**
 * A metric name as a channel name: each run of characters other than letters, digits and "_" becomes "_", and a
 * leading digit gets a "_" before it (a channel name does not start with one).
 */
export function channelName(metric: string): string {
  const name = metric.replace(/[^A-Za-z0-9_]+/g, '_');
  return /^[0-9]/.test(name) ? `_${name}` : name;
}

/**
 * The channels a birth gives a node or device: its metrics of a numeric datatype (Sparkplug's own left out),
 * named as channels, sorted (code-point order, so the list does not depend on the order an edge node writes
 * its metrics in), at most MAX_LEARNT_CHANNELS; `dropped` names metrics left out as duplicates or beyond it.
 */
export function learntChannels(metrics: readonly SparkplugMetric[]): { channels: string[]; dropped: string[] } {
  const names = new Set<string>();
  const dropped: string[] = [];
  for (const m of metrics) {
    if (m.name === undefined || NOT_A_CHANNEL.test(m.name) || m.datatype === undefined || !isNumericDatatype(m.datatype)) continue;
    const name = channelName(m.name);
    if (!CHANNEL_NAME.test(name) || name === '_' || names.has(name)) dropped.push(m.name);
    else names.add(name);
  }
  const sorted = [...names].sort();
  dropped.push(...sorted.slice(MAX_LEARNT_CHANNELS));
  return { channels: sorted.slice(0, MAX_LEARNT_CHANNELS), dropped };
}

/** What one birth said about a metric: the channel it feeds (-1: none) and its datatype. */
interface MetricDef {
  readonly name: string;
  readonly channel: number;
  readonly datatype: number | undefined;
}

type Status = 'unknown' | 'born' | 'dead';

/** A node's own metrics or one device's. */
interface Unit {
  status: Status;
  byAlias: Map<string, MetricDef>;
  byName: Map<string, MetricDef>;
  /** The latest value of each channel (NaN: none yet). */
  held: Float64Array;
  /** The stream its messages go to (null: none known yet). */
  stream: string | null;
  /** Its channels learnt from its latest birth (options.channels null), with their indexes; null: the subscription's. */
  learnt: { readonly channels: readonly string[]; readonly index: ReadonlyMap<string, number> } | null;
}

interface Node extends Unit {
  bdSeq: number | null;
  /** The seq of the node's latest message; null when unknown (no birth seen, or dead). */
  seq: number | null;
  readonly devices: Map<string, Unit>;
}

export interface SparkplugMessage {
  readonly topic: SparkplugTopic;
  /** The stream id of the topic (null: it names none, e.g. STATE). */
  readonly stream: string | null;
  readonly payload: SparkplugPayload;
  readonly arrival: number;
}

const NOTHING: SparkplugOutcome = Object.freeze({ samples: [], notes: [], liveness: [] });

export class SparkplugNodes {
  private readonly nodes = new Map<string, Node>();
  private readonly channelIndex = new Map<string, number>();
  private readonly maxNodes: number;
  /** Channels per unit before its birth: the subscription's, or none yet when they are learnt. */
  private readonly width: number;

  constructor(private readonly o: SparkplugStateOptions) {
    o.channels?.forEach((c, i) => this.channelIndex.set(c, i));
    this.width = o.channels?.length ?? 0;
    this.maxNodes = o.maxNodes ?? MAX_SPARKPLUG_NODES;
  }

  /** Edge nodes known, and how many of them are online (born, not dead). */
  counts(): { nodes: number; online: number } {
    let online = 0;
    for (const n of this.nodes.values()) if (n.status === 'born') online++;
    return { nodes: this.nodes.size, online };
  }

  /** The channel a metric name feeds: its own name, or its channelName; `unit`'s learnt channels where it has them. */
  channelOf(name: string, unit?: Unit): number {
    const index = unit?.learnt?.index ?? this.channelIndex;
    return index.get(name) ?? index.get(channelName(name)) ?? -1;
  }

  private channelsOf(unit: Unit): readonly string[] {
    return unit.learnt?.channels ?? this.o.channels ?? [];
  }

  handle(m: SparkplugMessage): SparkplugOutcome {
    const { type } = m.topic;
    if (type === 'NCMD' || type === 'DCMD' || type === 'STATE') return NOTHING;
    const key = `${m.topic.group}/${m.topic.edge}`;
    let node = this.nodes.get(key);
    if (!node) {
      if (this.nodes.size >= this.maxNodes) return refused('stream_limit', `Sparkplug edge node limit of ${this.maxNodes} reached`);
      node = { ...newUnit(this.width), bdSeq: null, seq: null, devices: new Map() };
      this.nodes.set(key, node);
    }
    try {
      switch (type) {
        case 'NBIRTH':
          return this.nodeBirth(node, m);
        case 'NDEATH':
          return this.nodeDeath(node, m);
        default:
          return this.nodeMessage(node, m);
      }
    } catch (err) {
      if (err instanceof Rejection) return refused(err.reason, err.detail);
      throw err;
    }
  }

  private nodeBirth(node: Node, m: SparkplugMessage): SparkplugOutcome {
    node.bdSeq = bdSeqOf(m.payload);
    node.seq = m.payload.seq ?? 0;
    // Every device must be born again after its node: what it said before may no longer hold.
    for (const d of node.devices.values()) if (d.status === 'born') resetUnit(d, 'unknown');
    return this.birth(node, m, `edge node '${m.topic.edge}' born (NBIRTH)`);
  }

  private nodeDeath(node: Node, m: SparkplugMessage): SparkplugOutcome {
    const bdSeq = bdSeqOf(m.payload);
    if (node.status === 'born' && node.bdSeq !== null && bdSeq !== null && bdSeq !== node.bdSeq) {
      return refused('stale_death', `NDEATH with bdSeq ${bdSeq} belongs to an earlier connection (the current NBIRTH has bdSeq ${node.bdSeq}); ignored`);
    }
    const reason = `edge node '${m.topic.edge}' went offline (NDEATH)`;
    const liveness: LivenessChange[] = [];
    const offline = (u: Unit): void => {
      if (u.stream !== null && u.status !== 'dead') liveness.push({ stream: u.stream, online: false, reason });
      u.status = 'dead';
    };
    for (const d of node.devices.values()) offline(d);
    node.stream ??= m.stream;
    offline(node);
    node.seq = null;
    return { samples: [], notes: [], liveness };
  }

  /** NDATA, DBIRTH, DDATA, DDEATH: the node must be alive, and its seq is checked. */
  private nodeMessage(node: Node, m: SparkplugMessage): SparkplugOutcome {
    const { type, device, edge } = m.topic;
    if (node.status === 'dead') return { ...refused('not_born', `edge node '${edge}' is offline (NDEATH) and has not been born again`), rebirth: `${type} from an edge node that is offline` };
    const seq = this.checkSeq(node, m.payload.seq);
    let unit: Unit = node;
    if (device !== undefined) {
      let d = node.devices.get(device);
      if (!d) {
        d = newUnit(this.width);
        node.devices.set(device, d);
      }
      unit = d;
    }
    let out: SparkplugOutcome;
    if (type === 'DBIRTH') out = this.birth(unit, m, `device '${device ?? ''}' of edge node '${edge}' born (DBIRTH)`);
    else if (type === 'DDEATH') {
      const reason = `device '${device ?? ''}' of edge node '${edge}' went offline (DDEATH)`;
      unit.stream ??= m.stream;
      const was = unit.status;
      unit.status = 'dead';
      out = { samples: [], notes: [], liveness: unit.stream !== null && was !== 'dead' ? [{ stream: unit.stream, online: false, reason }] : [] };
    } else if (unit.status === 'dead') {
      out = { ...refused('not_born', `device '${device ?? ''}' of edge node '${edge}' is offline (DDEATH) and has not been born again`), rebirth: 'DDATA from a device that is offline' };
    } else {
      unit.stream ??= m.stream;
      out = this.data(unit, m);
    }
    if (!seq) return out;
    return { ...out, seqGap: seq, rebirth: out.rebirth ?? `seq ${seq.got} where ${seq.expected} was due` };
  }

  /** Checks and advances the node's seq; returns the gap when it skipped or stepped back. */
  private checkSeq(node: Node, seq: number | undefined): { expected: number; got: number } | null {
    if (seq === undefined) return null;
    const last = node.seq;
    node.seq = seq;
    if (last === null) return null;
    const expected = (last + 1) % 256;
    return seq === expected ? null : { expected, got: seq };
  }

  private birth(unit: Unit, m: SparkplugMessage, reason: string): SparkplugOutcome {
    resetUnit(unit, 'born');
    unit.stream = m.stream;
    const learnt = this.o.channels === null ? this.learn(unit, m.payload.metrics) : [];
    const matched = new Set<number>();
    for (const metric of m.payload.metrics) {
      if (metric.name === undefined) continue;
      const def: MetricDef = { name: metric.name, channel: this.channelOf(metric.name, unit), datatype: metric.datatype };
      unit.byName.set(metric.name, def);
      if (metric.alias !== undefined) unit.byAlias.set(metric.alias, def);
      if (def.channel >= 0) matched.add(def.channel);
    }
    const out = this.data(unit, m);
    const liveness = m.stream !== null ? [{ stream: m.stream, online: true, reason }] : [];
    if (this.o.channels === null) return { ...out, notes: [...out.notes, ...learnt], liveness };
    // A birth that feeds some channels but not all: the others would stay empty and no window would fill.
    const absent = this.o.channels.filter((_c, i) => !matched.has(i));
    if (matched.size > 0 && absent.length > 0) {
      const notes = [...out.notes, { reason: 'missing_channel' as const, detail: `${m.topic.type} has no metric for channel(s) ${absent.join(', ')}` }];
      return { ...out, notes, liveness };
    }
    return { ...out, liveness };
  }

  /**
   * A birth's channels become the unit's (a new list, and so a new array, only when the set changed: the pipeline
   * compares a stream's channels by reference first); notes on the metrics left out.
   */
  private learn(unit: Unit, metrics: readonly SparkplugMetric[]): SparkplugNote[] {
    const { channels, dropped } = learntChannels(metrics);
    const same = unit.learnt !== null && unit.learnt.channels.length === channels.length && unit.learnt.channels.every((c, i) => c === channels[i]);
    if (!same) {
      unit.learnt = { channels, index: new Map(channels.map((c, i) => [c, i])) };
      unit.held = new Float64Array(channels.length).fill(NaN);
    }
    if (dropped.length === 0) return [];
    const shown = dropped.slice(0, 3).join("', '");
    return [{ reason: 'missing_channel', detail: `birth metric(s) '${shown}'${dropped.length > 3 ? ` and ${dropped.length - 3} more` : ''} have no channel: the same channel name as another metric, a name over 64 characters, or beyond ${MAX_LEARNT_CHANNELS} channels` }];
  }

  /** The samples of a message's metrics, with the notes on the metrics that could not be used. */
  private data(unit: Unit, m: SparkplugMessage): SparkplugOutcome {
    // Learning channels, a unit never born has none for its metrics to go to.
    if (this.o.channels === null && unit.learnt === null) {
      return { ...refused('not_born', `channels are learnt from births, and ${m.topic.device !== undefined ? `device '${m.topic.device}'` : `edge node '${m.topic.edge}'`} has sent none since anomalyd started`), rebirth: `${m.topic.type} before any birth (channels unknown)` };
    }
    const updates: { ts: number; channel: number; value: number }[] = [];
    const notes = new NoteList();
    let rebirth: string | undefined;
    for (const metric of m.payload.metrics) {
      const def = this.definition(unit, metric);
      if (def === undefined) {
        notes.add('unknown_alias', `alias ${metric.alias ?? '?'} was not in a birth certificate`);
        rebirth ??= `unknown alias ${metric.alias ?? '?'}`;
        continue;
      }
      if (def.channel < 0) continue;
      const datatype = metric.datatype ?? def.datatype;
      const label = `metric '${def.name}' (channel ${this.channelsOf(unit)[def.channel]})`;
      if (datatype === undefined || !isNumericDatatype(datatype)) {
        notes.add('unsupported_datatype', `${label} is ${datatypeName(datatype)}; channels take Int8..Int64, UInt8..UInt64, Float, Double, Boolean`);
        continue;
      }
      const value = metricValue(metric, datatype);
      if (typeof value === 'string') {
        notes.add('invalid_number', `${label}: ${value}`);
        continue;
      }
      if (!Number.isNaN(value) && !(Number.isFinite(value) && Math.abs(value) <= MAX_ABS_VALUE)) {
        notes.add('invalid_number', `${label} is ${value}: not finite or beyond ${MAX_ABS_VALUE}`);
        continue;
      }
      updates.push({ ts: this.timeOf(metric, m), channel: def.channel, value });
    }
    const channels = unit.learnt !== null && updates.length > 0 ? { channels: unit.learnt.channels } : {};
    return { samples: samplesOf(unit.held, updates), notes: notes.list(), liveness: [], ...channels, ...(rebirth ? { rebirth } : {}) };
  }

  /** What the unit's birth said of the metric; a named metric of a unit without a birth stands on its own. */
  private definition(unit: Unit, metric: SparkplugMetric): MetricDef | undefined {
    if (metric.name !== undefined) {
      const known = unit.byName.get(metric.name);
      if (known) return known;
      return { name: metric.name, channel: this.channelOf(metric.name, unit), datatype: metric.datatype };
    }
    return metric.alias === undefined ? undefined : unit.byAlias.get(metric.alias);
  }

  private timeOf(metric: SparkplugMetric, m: SparkplugMessage): number {
    const source = this.o.timestampSource;
    if (source === 'arrival') return m.arrival;
    const ts = metric.timestamp ?? m.payload.timestamp;
    if (ts === undefined) {
      if (source === 'payload') throw new Rejection('bad_timestamp', `metric ${metric.name ?? `alias ${metric.alias ?? '?'}`} has no timestamp and neither has the payload`);
      return m.arrival;
    }
    return checkTime(ts, m.arrival, this.o.limits, metric.timestamp !== undefined ? 'metric timestamp' : 'payload timestamp');
  }
}

function newUnit(channels: number): Unit {
  return { status: 'unknown', byAlias: new Map(), byName: new Map(), held: new Float64Array(channels).fill(NaN), stream: null, learnt: null };
}

function resetUnit(u: Unit, status: Status): void {
  u.status = status;
  u.byAlias = new Map();
  u.byName = new Map();
  u.held.fill(NaN);
}

function refused(reason: RejectReason, detail: string): SparkplugOutcome {
  return { samples: [], notes: [], liveness: [], rejected: { reason, detail } };
}

/** The bdSeq metric of an NBIRTH or NDEATH (null: absent or not a number). */
function bdSeqOf(p: SparkplugPayload): number | null {
  const metric = p.metrics.find((x) => x.name === 'bdSeq');
  if (!metric) return null;
  const v = metricValue(metric, metric.datatype ?? 8);
  return typeof v === 'number' && Number.isFinite(v) ? v : null;
}

/** One sample per distinct time, in time order, each carrying every channel's latest value (updates applied in order). */
function samplesOf(held: Float64Array, updates: { ts: number; channel: number; value: number }[]): Sample[] {
  if (updates.length === 0) return [];
  // Stable: updates of one time apply in message order.
  updates.sort((a, b) => a.ts - b.ts);
  const samples: Sample[] = [];
  for (let i = 0; i < updates.length; ) {
    const ts = updates[i].ts;
    for (; i < updates.length && updates[i].ts === ts; i++) held[updates[i].channel] = updates[i].value;
    samples.push({ ts, values: held.slice() });
  }
  return samples;
}

/** Notes by reason, one per reason per message (the count is per message), naming the first few metrics. */
class NoteList {
  private readonly byReason = new Map<RejectReason, string[]>();

  add(reason: RejectReason, detail: string): void {
    const list = this.byReason.get(reason) ?? [];
    list.push(detail);
    this.byReason.set(reason, list);
  }

  list(): SparkplugNote[] {
    return [...this.byReason].map(([reason, details]) => ({
      reason,
      detail: details.length <= 3 ? details.join('; ') : `${details.slice(0, 3).join('; ')}; and ${details.length - 3} more`,
    }));
  }
}
