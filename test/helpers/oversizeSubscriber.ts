// A child process for mqttOversizeMemory.test.ts: an MqttSource (the daemon's MQTT reader) alone, so its peak
// memory is its own and not the test runner's. Prints one JSON line per delivery and per rejection, each with the
// process's peak RSS so far (kB). Usage: node oversizeSubscriber.js MQTT_URL CLIENT_ID MAX_PAYLOAD_BYTES [4|5]
// (the MQTT protocol version, 4 = 3.1.1 by default).
import { systemClock } from '../../src/core/clock';
import type { ComponentContext, Events, Log } from '../../src/core/context';
import { MqttSource } from '../../src/sources/mqtt';

const [url, clientId, max, protocol] = process.argv.slice(2);
const say = (line: Record<string, unknown>): void => void process.stdout.write(JSON.stringify({ ...line, maxRssKb: process.resourceUsage().maxRSS }) + '\n');
const log: Log = { error: () => undefined, warn: () => undefined, info: () => undefined, debug: () => undefined, child: () => log };
const events = new Proxy({} as Events, {
  get: (_t, name: string) =>
    name === 'messageRejected'
      ? (reason: string, topic: string, detail: string) => say({ rejected: reason, topic, detail })
      : () => undefined,
});
const abort = new AbortController();
const ctx: ComponentContext = { id: 'source.mqtt', log, events, clock: systemClock, signal: abort.signal };
const source = new MqttSource(ctx, {
  url,
  clientId,
  maxPayloadBytes: Number(max),
  protocolVersion: protocol === '5' ? 5 : 4,
  subscriptions: [{ topic: 'mem/+', stream: '{topic}', decoder: 'number', channels: ['v'], timestamp: { source: 'arrival', field: 'ts', unit: 'ms' } }],
});
void source.start((batch) => say({ delivered: batch.stream })).then(() => say({ connected: source.connected }));
process.on('SIGTERM', () => void source.stop().then(() => process.exit(0)));
