// A Sparkplug B edge node for tests, written with the library the daemon reads it with (Eclipse Tahu's
// sparkplug-payload), publishing as Tahu-based edge nodes do: NBIRTH (bdSeq), DBIRTH of one device with the
// pump's channels named, aliased and valued, DDATA by alias (report by exception keeps the datatype), NDEATH.
// With `device` null the pump's channels are the node's own metrics: in its NBIRTH, and NDATA instead of DDATA.
import type { MqttClient } from 'mqtt';
import { get } from 'sparkplug-payload';
import type { UMetric, UPayload } from 'sparkplug-payload/lib/sparkplugbpayload';
import type { Sample } from '../../src/core/types';
import { PUMP_CHANNELS } from '../../src/simulator/signals';

export function sparkplugCodec(): NonNullable<ReturnType<typeof get>> {
  const codec = get('spBv1.0');
  if (!codec) throw new Error('sparkplug-payload has no spBv1.0 codec');
  return codec;
}

export class EdgeNode {
  private readonly codec = sparkplugCodec();
  private seq = 0;
  private bdSeq = 0;
  /**
   * The metrics it reports: the pump's channels unless set otherwise (a metric that is not a pump channel reads
   * 1500 + its position). Takes effect at the next birth.
   */
  names: readonly string[] = PUMP_CHANNELS;
  private sent: readonly string[] = PUMP_CHANNELS;
  /** Alias of each metric of `sent` (index), reassigned by birth(). */
  private aliases = PUMP_CHANNELS.map((_c, i) => i + 1);

  constructor(
    private readonly client: MqttClient,
    readonly group: string,
    readonly edge: string,
    readonly device: string | null = 'pump1',
  ) {}

  private async send(type: string, payload: UPayload, device = true): Promise<void> {
    const topic = `spBv1.0/${this.group}/${type}/${this.edge}${device && this.device !== null ? `/${this.device}` : ''}`;
    // QoS 1 (the specification uses 0 for data): the test's pace follows the broker, and nothing is dropped on the way.
    await this.client.publishAsync(topic, Buffer.from(this.codec.encodePayload(payload)), { qos: 1 });
  }

  private nextSeq(): number {
    this.seq = (this.seq + 1) % 256;
    return this.seq;
  }

  /** NBIRTH (seq 0, the current bdSeq) and DBIRTH with every channel named, aliased and valued from `first`. */
  async birth(first: Sample, reversedAliases = false): Promise<void> {
    this.seq = 0;
    this.sent = this.names;
    this.aliases = this.sent.map((_c, i) => (reversedAliases ? this.sent.length - i : i + 1));
    const control: UMetric[] = [{ name: 'bdSeq', type: 'UInt64', value: this.bdSeq }, { name: 'Node Control/Rebirth', type: 'Boolean', value: false }];
    const metrics: UMetric[] = this.sent.map((name, i) => ({ name, alias: this.aliases[i], type: 'Double', value: valueOf(first, name, i), timestamp: first.ts }));
    metrics.push({ name: 'Properties/Serial', alias: 100, type: 'String', value: 'SN-1' });
    if (this.device === null) {
      await this.send('NBIRTH', { timestamp: first.ts, seq: 0, metrics: [...control, ...metrics] }, false);
      return;
    }
    await this.send('NBIRTH', { timestamp: first.ts, seq: 0, metrics: control }, false);
    await this.send('DBIRTH', { timestamp: first.ts, seq: this.nextSeq(), metrics });
  }

  /**
   * One DDATA (NDATA for the node's own metrics) per sample, metrics by alias only, or by name with `named`;
   * `seqSkip` makes each message's seq skip that many (negative: step back, as a message reordered on the way).
   */
  async data(samples: readonly Sample[], seqSkip = 0, named = false): Promise<void> {
    for (const s of samples) {
      const metrics: UMetric[] = this.sent.map((name, i) => ({ ...(named ? { name } : { alias: this.aliases[i] }), type: 'Double', value: valueOf(s, name, i), timestamp: s.ts }));
      this.seq = (this.seq + seqSkip + 256) % 256;
      await this.send(this.device === null ? 'NDATA' : 'DDATA', { timestamp: s.ts, seq: this.nextSeq(), metrics });
    }
  }

  /** The node's death certificate (its MQTT will, sent here by hand) with the bdSeq of its birth; the next birth has a new one. */
  async death(): Promise<void> {
    await this.send('NDEATH', { metrics: [{ name: 'bdSeq', type: 'UInt64', value: this.bdSeq }] }, false);
    this.bdSeq++;
  }
}

/** A pump sample's value of metric `name` (the `i`-th sent), or a constant for a metric that is no pump channel. */
function valueOf(s: Sample, name: string, i: number): number {
  const c = (PUMP_CHANNELS as readonly string[]).indexOf(name);
  return c >= 0 ? (s.values[c] ?? NaN) : 1500 + i;
}
