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
import type { RejectReason } from '../core/context';
import type { Sample } from '../core/types';
import { MAX_ABS_VALUE, Rejection, checkTime, type TimeLimits, type TimestampSource } from './decodeValues';
import { datatypeName, isNumericDatatype, metricValue, type SparkplugMetric, type SparkplugPayload } from './sparkplugPayload';
import type { SparkplugTopic } from './sparkplugTopic';

/** Edge nodes remembered per subscription; a flood of invented node ids is refused beyond it. */
export const MAX_SPARKPLUG_NODES = 10_000;

export interface SparkplugStateOptions {
  /** The subscription's channels, in model input order. */
  readonly channels: readonly string[];
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

  constructor(private readonly o: SparkplugStateOptions) {
    o.channels.forEach((c, i) => this.channelIndex.set(c, i));
    this.maxNodes = o.maxNodes ?? MAX_SPARKPLUG_NODES;
  }

  /** Edge nodes known, and how many of them are online (born, not dead). */
  counts(): { nodes: number; online: number } {
    let online = 0;
    for (const n of this.nodes.values()) if (n.status === 'born') online++;
    return { nodes: this.nodes.size, online };
  }

  /** The channel a metric name feeds: its own name, or the name with each run of other characters made "_". */
  channelOf(name: string): number {
    return this.channelIndex.get(name) ?? this.channelIndex.get(name.replace(/[^A-Za-z0-9_]+/g, '_')) ?? -1;
  }

  handle(m: SparkplugMessage): SparkplugOutcome {
    const { type } = m.topic;
    if (type === 'NCMD' || type === 'DCMD' || type === 'STATE') return NOTHING;
    const key = `${m.topic.group}/${m.topic.edge}`;
    let node = this.nodes.get(key);
    if (!node) {
      if (this.nodes.size >= this.maxNodes) return refused('stream_limit', `Sparkplug edge node limit of ${this.maxNodes} reached`);
      node = { ...newUnit(this.o.channels.length), bdSeq: null, seq: null, devices: new Map() };
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
        d = newUnit(this.o.channels.length);
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
    const matched = new Set<number>();
    for (const metric of m.payload.metrics) {
      if (metric.name === undefined) continue;
      const def: MetricDef = { name: metric.name, channel: this.channelOf(metric.name), datatype: metric.datatype };
      unit.byName.set(metric.name, def);
      if (metric.alias !== undefined) unit.byAlias.set(metric.alias, def);
      if (def.channel >= 0) matched.add(def.channel);
    }
    const out = this.data(unit, m);
    const liveness = m.stream !== null ? [{ stream: m.stream, online: true, reason }] : [];
    // A birth that feeds some channels but not all: the others would stay empty and no window would fill.
    const absent = this.o.channels.filter((_c, i) => !matched.has(i));
    if (matched.size > 0 && absent.length > 0) {
      const notes = [...out.notes, { reason: 'missing_channel' as const, detail: `${m.topic.type} has no metric for channel(s) ${absent.join(', ')}` }];
      return { ...out, notes, liveness };
    }
    return { ...out, liveness };
  }

  /** The samples of a message's metrics, with the notes on the metrics that could not be used. */
  private data(unit: Unit, m: SparkplugMessage): SparkplugOutcome {
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
      const label = `metric '${def.name}' (channel ${this.o.channels[def.channel]})`;
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
    return { samples: samplesOf(unit.held, updates), notes: notes.list(), liveness: [], ...(rebirth ? { rebirth } : {}) };
  }

  /** What the unit's birth said of the metric; a named metric of a unit without a birth stands on its own. */
  private definition(unit: Unit, metric: SparkplugMetric): MetricDef | undefined {
    if (metric.name !== undefined) {
      const known = unit.byName.get(metric.name);
      if (known) return known;
      return { name: metric.name, channel: this.channelOf(metric.name), datatype: metric.datatype };
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
  return { status: 'unknown', byAlias: new Map(), byName: new Map(), held: new Float64Array(channels).fill(NaN), stream: null };
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
