// Sparkplug B out (sinks.mqtt_out.sparkplug): anomalyd as a Sparkplug edge node, each stream a device, with the
// Eclipse Tahu payload library (sparkplug-payload). On its own MQTT session, because a Sparkplug session's will
// must be the node's NDEATH:
// - NBIRTH (seq 0) at each connection, with bdSeq and `Node Control/Rebirth`; NDEATH with the same bdSeq is the
//   will, and is published before a clean stop. bdSeq goes up by one per connection (kept in state_dir, so a
//   host application never takes a late death of an earlier session for this one's).
// - DBIRTH of a stream at its first score on a connection (and again whenever its metric set changes: expected
//   values appearing), DDATA for every score after that; metrics `score`, `threshold`, `p_value` (Double),
//   `anomalous` (Boolean), `expected/<channel>` (Double, where computed), timestamped with the window end.
// - seq counts every NBIRTH/DBIRTH/DDATA 0..255 and wraps. Messages are QoS 0 and not retained, as the
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
import type { ComponentContext } from '../core/context';
import { errorMessage } from '../core/errors';
import type { ScorePoint } from '../core/sink';
import { SPARKPLUG_NAMESPACE } from '../core/sparkplugNames';
import type { MqttOutPublisher } from './mqttOut';

type SparkplugMetric = { name: string; type: 'Double' | 'Boolean' | 'UInt64'; value: number | boolean; timestamp?: number };

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

export function sparkplugTopic(group: string, kind: 'NBIRTH' | 'NDEATH' | 'NCMD' | 'DBIRTH' | 'DDATA' | 'DDEATH', edgeNode: string): string {
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
  /** Devices born on this connection, with the metric names of their birth. */
  private readonly born = new Map<string, string>();
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
    const device = sparkplugId(stream);
    if (!this.born.delete(device) || !this.o.publisher.connected) return;
    this.send(`${this.topic('DDEATH')}/${device}`, encodeSparkplug({ timestamp: this.now(), seq: this.nextSeq(), metrics: [] }));
  }

  /** NBIRTH (seq 0, this session's bdSeq), then the DBIRTH of every stream with a score. */
  private births(): void {
    this.born.clear();
    this.seq = 0;
    const birth = encodeSparkplug({
      timestamp: this.now(),
      seq: this.nextSeq(),
      metrics: [
        { name: 'bdSeq', type: 'UInt64', value: this.bdSeq },
        { name: REBIRTH_METRIC, type: 'Boolean', value: false },
      ],
    });
    this.send(this.topic('NBIRTH'), birth);
    for (const point of this.latest.values()) this.score(point);
  }

  /** The connection dropped: the next one is a new session with the next bdSeq in its will and births. */
  disconnected(): void {
    this.bdSeq = (this.bdSeq + 1) % 256;
    this.o.publisher.setWill(this.death());
  }

  score(point: ScorePoint): void {
    this.latest.set(point.stream, point);
    if (!this.o.publisher.connected) return;
    const device = sparkplugId(point.stream);
    const metrics = scoreMetrics(point);
    const names = metrics.map((m) => m.name).join('\n');
    const kind = this.born.get(device) === names ? 'DDATA' : 'DBIRTH';
    this.born.set(device, names);
    this.send(`${this.topic(kind)}/${device}`, encodeSparkplug({ timestamp: point.time, seq: this.nextSeq(), metrics }));
  }

  private topic(kind: 'NBIRTH' | 'NDEATH' | 'DBIRTH' | 'DDATA' | 'DDEATH'): string {
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
