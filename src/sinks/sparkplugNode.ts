// Sparkplug B out (sinks.mqtt_out.sparkplug): anomalyd as a Sparkplug edge node, each stream a device, with the
// Eclipse Tahu payload library (sparkplug-payload). On its own MQTT session, because a Sparkplug session's will
// must be the node's NDEATH:
// - NBIRTH (seq 0) at each connection, with bdSeq and `Node Control/Rebirth`; NDEATH with the same bdSeq is the
//   will, and is published before a clean stop. bdSeq goes up by one per connection (kept in state_dir, so a
//   host application never takes a late death of an earlier session for this one's).
// - DBIRTH of a stream at its first score or first firing alert on a connection (and again whenever its metric
//   set changes: expected values appearing), DDATA for every score after that; metrics `score`, `threshold`,
//   `p_value` (Double), `anomalous` (Boolean), `expected/<channel>` (Double, where computed), timestamped with the
//   window end (null in a birth before the first score), and the stream's alert states (sparkplugAlerts.ts).
// - Alert states: only the notices that reach the pagers (as the mqtt_out alert topics). The birth carries the
//   current state of every kind; a transition goes out as DDATA (NDATA for a daemon-wide kind, a metric of the
//   node) with only what changed, when it happens. QoS 0 like every Sparkplug message: a host that missed it
//   reads the state in the next birth (it asks with a rebirth), not from a retained message or an outbox.
// - seq counts every NBIRTH/NDATA/DBIRTH/DDATA/DDEATH 0..255 and wraps. Messages are QoS 0 and not retained, as the
//   specification has them; a score while disconnected is kept as the stream's latest and goes out in its DBIRTH
//   after the reconnect.
// - NCMD `Node Control/Rebirth` = true (a host application that missed the births, or lost its picture): NBIRTH
//   again with seq 0 and the same bdSeq (the session, and so the will, are unchanged; the specification ties bdSeq
//   to the MQTT CONNECT), then a DBIRTH of every stream with a score, without any death first. At most one per
//   REBIRTH_MIN_INTERVAL_MS: a host asking in a loop does not make anomalyd flood the broker with births.
// - DDEATH of a stream the daemon no longer monitors (evicted after its idle time, or removed by a reload), with
//   the next seq; it is not born again unless it scores again.
// DCMD and other node commands are not acted on (anomalyd's devices have nothing to write); they are logged.
import { promises as fs } from 'node:fs';
import * as path from 'node:path';
import { get as sparkplugNamespace } from 'sparkplug-payload';
import type { AlertKind, AlertNotice } from '../core/alert';
import type { ComponentContext } from '../core/context';
import { errorMessage } from '../core/errors';
import type { ScorePoint } from '../core/sink';
import { SPARKPLUG_NAMESPACE } from '../core/sparkplugNames';
import type { MqttOutPublisher } from './mqttOut';
import { alertState, birthAlertMetrics, changedAlertMetrics, DEVICE_ALERT_KINDS, isNodeAlert, NODE_ALERT_KINDS, type AlertState, type SparkplugMetric } from './sparkplugAlerts';

type NodeTopic = 'NBIRTH' | 'NDEATH' | 'NDATA' | 'DBIRTH' | 'DDATA' | 'DDEATH';

const codec = sparkplugNamespace(SPARKPLUG_NAMESPACE);
if (!codec) throw new Error(`sparkplug-payload lacks the ${SPARKPLUG_NAMESPACE} namespace`);

/** A Sparkplug id (group, edge node, device) cannot hold "/", "+" or "#": a stream's "/" become ":". */
export function sparkplugId(text: string): string {
  return text.replace(/\//g, ':').replace(/[+#]/g, '_');
}

/** The metric of a rebirth request (an NCMD), as the specification names it. */
export const REBIRTH_METRIC = 'Node Control/Rebirth';

/** Rebirth requests answered at most once per this many ms. */
export const REBIRTH_MIN_INTERVAL_MS = 1_000;

export function sparkplugTopic(group: string, kind: NodeTopic | 'NCMD', edgeNode: string): string {
  return `${SPARKPLUG_NAMESPACE}/${group}/${kind}/${edgeNode}`;
}

export function encodeSparkplug(payload: { timestamp: number; seq?: number; metrics: SparkplugMetric[] }): Buffer {
  return Buffer.from(codec!.encodePayload(payload));
}

/** The metrics of one scored window. */
export function scoreMetrics(p: ScorePoint): SparkplugMetric[] {
  const metrics: SparkplugMetric[] = [
    { name: 'score', type: 'Double', value: p.score },
    { name: 'threshold', type: 'Double', value: p.threshold },
    { name: 'p_value', type: 'Double', value: p.pValue },
    { name: 'anomalous', type: 'Boolean', value: p.anomalous },
  ];
  for (const [channel, value] of Object.entries(p.expected ?? {})) metrics.push({ name: `expected/${channel}`, type: 'Double', value });
  return metrics.map((m) => ({ ...m, timestamp: p.time }));
}

/** The score metrics of a device born before its first score: there, with no value yet. */
function unscoredMetrics(time: number): SparkplugMetric[] {
  const names = [['score', 'Double'], ['threshold', 'Double'], ['p_value', 'Double'], ['anomalous', 'Boolean']] as const;
  return names.map(([name, type]) => ({ name, type, value: null, timestamp: time }));
}

function metricNames(metrics: readonly SparkplugMetric[]): ReadonlySet<string> {
  return new Set(metrics.map((m) => m.name));
}

export interface SparkplugNodeOptions {
  readonly publisher: MqttOutPublisher;
  readonly group: string;
  readonly edgeNode: string;
  /** Where bdSeq is kept between runs. */
  readonly stateDir: string;
  readonly now?: () => number;
}

export class SparkplugNode {
  private readonly latest = new Map<string, ScorePoint>();
  /** Alert states by stream (only streams shown as devices: scored, or with an alert that fired). */
  private readonly alerts = new Map<string, Map<AlertKind, AlertState>>();
  /** The daemon-wide alerts, metrics of the node. */
  private readonly nodeAlerts = new Map<AlertKind, AlertState>();
  /** Whether this connection's NBIRTH went out (NDATA only after it). */
  private nodeBorn = false;
  /** Devices born on this connection, with the metric names of their birth. */
  private readonly born = new Map<string, ReadonlySet<string>>();
  private seq = 0;
  private bdSeq = 0;
  /** When the last rebirth request was answered (ms; -Infinity: never). */
  private lastRebirth = Number.NEGATIVE_INFINITY;
  private readonly bdSeqFile: string;
  private readonly now: () => number;

  constructor(
    private readonly ctx: ComponentContext,
    private readonly o: SparkplugNodeOptions,
  ) {
    this.bdSeqFile = path.join(o.stateDir, 'sparkplug.bdseq');
    this.now = o.now ?? Date.now;
  }

  /** The will of the session (NDEATH with this session's bdSeq); read bdSeq first with loadBdSeq(). */
  get deathTopic(): string {
    return this.topic('NDEATH');
  }

  /** The previous run's bdSeq + 1 (0 at the first run or when the file is unreadable). */
  async loadBdSeq(): Promise<void> {
    const text = await fs.readFile(this.bdSeqFile, 'utf8').catch(() => '');
    const last = Number.parseInt(text, 10);
    this.bdSeq = Number.isInteger(last) ? (last + 1) % 256 : 0;
    this.o.publisher.setWill(this.death());
  }

  death(): Buffer {
    return encodeSparkplug({ timestamp: this.now(), metrics: [{ name: 'bdSeq', type: 'UInt64', value: this.bdSeq }] });
  }

  connected(): void {
    // The number this session's NDEATH carries, kept before anything is published under it.
    void fs.writeFile(this.bdSeqFile, String(this.bdSeq)).catch((err: unknown) => this.ctx.log.warn('Cannot keep the Sparkplug bdSeq.', { file: this.bdSeqFile, error: errorMessage(err) }));
    this.births();
  }

  /** A message on the node's NCMD topic: a rebirth request is answered; anything else is logged and left. */
  command(topic: string, payload: Buffer): void {
    let metrics: readonly { name?: string | null; value?: unknown }[];
    try {
      metrics = codec!.decodePayload(new Uint8Array(payload)).metrics ?? [];
    } catch (err) {
      this.ctx.events.messageRejected('invalid_sparkplug', topic, `not a Sparkplug B payload: ${errorMessage(err)}`);
      return;
    }
    const rebirth = metrics.some((m) => m.name === REBIRTH_METRIC && m.value === true);
    if (!rebirth) {
      this.ctx.log.info('Ignored a Sparkplug command: anomalyd answers only Node Control/Rebirth.', { topic, metrics: metrics.map((m) => m.name ?? '?').join(',') });
      return;
    }
    const now = this.now();
    if (now - this.lastRebirth < REBIRTH_MIN_INTERVAL_MS) {
      this.ctx.log.debug('Skipped a Sparkplug rebirth request: the births were just sent.', { topic, ms_since: now - this.lastRebirth });
      return;
    }
    if (!this.o.publisher.connected) return;
    this.lastRebirth = now;
    this.ctx.log.info('Answering a Sparkplug rebirth request: NBIRTH and each stream\'s DBIRTH again.', { topic, streams: this.latest.size, bd_seq: this.bdSeq });
    this.births();
  }

  /** The stream is no longer monitored: its device dies (DDEATH) if it was born on this connection. */
  deviceGone(stream: string): void {
    this.latest.delete(stream);
    this.alerts.delete(stream);
    const device = sparkplugId(stream);
    if (!this.born.delete(device) || !this.o.publisher.connected) return;
    this.send(`${this.topic('DDEATH')}/${device}`, encodeSparkplug({ timestamp: this.now(), seq: this.nextSeq(), metrics: [] }));
  }

  /** NBIRTH (seq 0, this session's bdSeq, the daemon-wide alert states), then the DBIRTH of every device. */
  private births(): void {
    this.born.clear();
    this.seq = 0;
    const now = this.now();
    const birth = encodeSparkplug({
      timestamp: now,
      seq: this.nextSeq(),
      metrics: [
        { name: 'bdSeq', type: 'UInt64', value: this.bdSeq },
        { name: REBIRTH_METRIC, type: 'Boolean', value: false },
        ...birthAlertMetrics(NODE_ALERT_KINDS, this.nodeAlerts, now),
      ],
    });
    this.send(this.topic('NBIRTH'), birth);
    this.nodeBorn = true;
    for (const stream of new Set([...this.latest.keys(), ...this.alerts.keys()])) this.birthDevice(stream);
  }

  /** DBIRTH: the latest score's metrics (null before the first) and every alert state of the stream. */
  private birthDevice(stream: string): void {
    const point = this.latest.get(stream);
    const time = point?.time ?? this.now();
    const metrics = [...(point ? scoreMetrics(point) : unscoredMetrics(time)), ...birthAlertMetrics(DEVICE_ALERT_KINDS, this.alerts.get(stream), this.now())];
    const device = sparkplugId(stream);
    this.born.set(device, metricNames(metrics));
    this.send(`${this.topic('DBIRTH')}/${device}`, encodeSparkplug({ timestamp: time, seq: this.nextSeq(), metrics }));
  }

  /** The connection dropped: the next one is a new session with the next bdSeq in its will and births. */
  disconnected(): void {
    this.nodeBorn = false;
    this.bdSeq = (this.bdSeq + 1) % 256;
    this.o.publisher.setWill(this.death());
  }

  score(point: ScorePoint): void {
    this.latest.set(point.stream, point);
    if (!this.o.publisher.connected) return;
    const device = sparkplugId(point.stream);
    const born = this.born.get(device);
    const metrics = scoreMetrics(point);
    // A score metric the birth did not name (expected values appearing) needs a new birth.
    if (born === undefined || !metrics.every((m) => born.has(m.name))) {
      this.birthDevice(point.stream);
      return;
    }
    this.send(`${this.topic('DDATA')}/${device}`, encodeSparkplug({ timestamp: point.time, seq: this.nextSeq(), metrics }));
  }

  /**
   * A notice that reaches the pagers: the alert state of its kind. What changed goes out at once (DDATA, or NDATA
   * for a daemon-wide kind); a firing alert of a stream not yet shown brings its device's birth.
   */
  alert(notice: AlertNotice): void {
    const after = alertState(notice);
    const connected = this.o.publisher.connected;
    if (isNodeAlert(notice.kind)) {
      const before = this.nodeAlerts.get(notice.kind);
      this.nodeAlerts.set(notice.kind, after);
      const changed = changedAlertMetrics(notice.kind, before, after);
      if (changed.length > 0 && connected && this.nodeBorn) this.send(this.topic('NDATA'), encodeSparkplug({ timestamp: this.now(), seq: this.nextSeq(), metrics: changed }));
      return;
    }
    let states = this.alerts.get(notice.stream);
    // A resolve of a stream never shown, or gone (DDEATH) before its alerts were closed: nothing to show.
    if (states === undefined && !after.firing && !this.latest.has(notice.stream)) return;
    if (states === undefined) this.alerts.set(notice.stream, (states = new Map<AlertKind, AlertState>()));
    const before = states.get(notice.kind);
    states.set(notice.kind, after);
    if (!connected || !this.nodeBorn) return;
    const device = sparkplugId(notice.stream);
    if (!this.born.has(device)) {
      this.birthDevice(notice.stream);
      return;
    }
    const changed = changedAlertMetrics(notice.kind, before, after);
    if (changed.length > 0) this.send(`${this.topic('DDATA')}/${device}`, encodeSparkplug({ timestamp: this.now(), seq: this.nextSeq(), metrics: changed }));
  }

  /** The alerts firing now (after a restart or a rebuild of the sink): states, not transitions; unchanged ones send nothing. */
  reconcile(active: readonly AlertNotice[]): void {
    for (const notice of active) if (notice.status === 'firing') this.alert(notice);
  }

  private topic(kind: NodeTopic): string {
    return sparkplugTopic(this.o.group, kind, this.o.edgeNode);
  }

  private nextSeq(): number {
    const s = this.seq;
    this.seq = (this.seq + 1) % 256;
    return s;
  }

  private send(topic: string, payload: Buffer): void {
    this.o.publisher.publish(topic, payload, false, 0).catch((err: unknown) => this.ctx.events.sinkError('mqtt_out', true, `Sparkplug ${topic}: ${errorMessage(err)}`));
  }
}
