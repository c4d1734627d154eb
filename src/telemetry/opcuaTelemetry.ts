// The OPC UA input's events (core/opcuaEvents.ts): log lines, metrics and the status page's source row. Its
// metrics are registered only when an `opcua` section is configured. The `node` label takes the configured node
// ids and browse paths, so it is bounded by the config (at most 256 subscriptions of 256 items); past
// MAX_NODE_LABELS distinct nodes further ones share node="_other", as streams do past their cap.
import { Counter, Gauge, type Registry } from 'prom-client';
import type { Clock } from '../core/clock';
import type { Log } from '../core/context';
import type { OpcuaEvents, OpcuaItemRef } from '../core/opcuaEvents';
import { LogLimiter } from './logLimiter';
import { OTHER_STREAM } from './metrics';
import type { StatusModel } from './status';

export const MAX_NODE_LABELS = 1_000;
const METRIC_PREFIX = 'anomalyd_opcua_';
const SOURCE_ROW = 'OPC UA';

export interface OpcuaTelemetry extends OpcuaEvents {
  /** 1 while the session and its subscriptions are up (the readiness check reads it too). */
  readonly connected: boolean;
  readonly detail: string;
  /** A reload removed the `opcua` section: its metrics and status row go (a later one starts them afresh). */
  retire(): void;
}

export function createOpcuaTelemetry(log: Log, registry: Registry, status: StatusModel, clock: Clock, summaryIntervalMs = 60_000): OpcuaTelemetry {
  const limiter = new LogLimiter(clock, summaryIntervalMs);
  let connected = false;
  let everConnected = false;
  let detail = 'not connected yet';
  let itemsOk = 0;
  let itemsRefused = 0;
  const registers = [registry];

  new Gauge({ name: 'anomalyd_opcua_connected', help: '1 while the OPC UA session and its subscriptions are up, else 0.', registers, collect() { this.set(connected ? 1 : 0); } });
  new Gauge({
    name: 'anomalyd_opcua_monitored_items', help: 'OPC UA monitored items, by state: ok (the server samples it), refused (the server would not monitor it; see the log).',
    labelNames: ['state'], registers,
    collect() {
      this.set({ state: 'ok' }, itemsOk);
      this.set({ state: 'refused' }, itemsRefused);
    },
  });
  const reconnects = new Counter({ name: 'anomalyd_opcua_reconnects_total', help: 'Times the OPC UA link dropped and was restored.', registers });
  const badValues = new Counter({
    name: 'anomalyd_opcua_bad_values_total', help: 'OPC UA values not scored because their status was not Good, by node and quality (bad, uncertain); their channel is missing in that sample.',
    labelNames: ['node', 'quality'], registers,
  });
  const notNumeric = new Counter({ name: 'anomalyd_opcua_not_numeric_total', help: 'Good OPC UA values that are not numbers (text, arrays, structures), not scored, by node.', labelNames: ['node'], registers });
  const overflows = new Counter({
    name: 'anomalyd_opcua_queue_overflows_total', help: "Values the OPC UA server reported dropping from an item's queue (queue_size too small for an outage or a publishing delay), by node.",
    labelNames: ['node'], registers,
  });
  const lost = new Counter({
    name: 'anomalyd_opcua_notifications_lost_total',
    help: 'OPC UA notification messages missing after a reconnection that the server no longer had when asked again (a gap in the stream), by stream.',
    labelNames: ['stream'], registers,
  });
  const recreated = new Counter({
    name: 'anomalyd_opcua_subscriptions_recreated_total',
    help: 'OPC UA subscriptions made anew after the link came back because the server no longer had them (it restarted, or the session expired): what it had queued is a gap, by stream.',
    labelNames: ['stream'], registers,
  });
  reconnects.inc(0);

  const labelled = new Set<string>();
  const node = (item: OpcuaItemRef): string => {
    if (labelled.has(item.node)) return item.node;
    if (labelled.size < MAX_NODE_LABELS) {
      labelled.add(item.node);
      return item.node;
    }
    return OTHER_STREAM;
  };
  const fields = (item: OpcuaItemRef): Record<string, string> => ({ node: item.node, stream: item.stream, channel: item.channel });

  return {
    get connected() {
      return connected;
    },
    get detail() {
      return detail;
    },
    retire() {
      for (const metric of registry.getMetricsAsArray()) if (metric.name.startsWith(METRIC_PREFIX)) registry.removeSingleMetric(metric.name);
      status.dropSource(SOURCE_ROW);
    },
    connection(up, why) {
      connected = up;
      detail = why;
      status.setSource(SOURCE_ROW, up, why);
      if (up) {
        everConnected = true;
        log.info('Connected to OPC UA server.', { detail: why });
      } else if (everConnected) {
        everConnected = false;
        limiter.hit('connection');
        log.warn('Lost connection to OPC UA server.', { detail: why });
      } else {
        const count = limiter.hit('connection');
        if (count > 0) log.warn('Cannot connect to OPC UA server.', { detail: why, attempts: count });
      }
    },
    stopped(why) {
      connected = false;
      detail = why;
      everConnected = false;
      status.setSource(SOURCE_ROW, false, why);
      log.info('Disconnected from the OPC UA server.', { detail: why });
    },
    reconnected(how) {
      reconnects.inc();
      log.info('OPC UA link restored.', { detail: how });
    },
    itemRefused(item, code) {
      log.error('OPC UA server refused to monitor an item; its channel will stay empty.', { ...fields(item), status: code });
    },
    itemsMonitored(ok, refused) {
      itemsOk = ok;
      itemsRefused = refused;
    },
    badValue(item, quality, code) {
      badValues.inc({ node: node(item), quality });
      const count = limiter.hit(`bad:${item.node}`);
      if (count > 0) log.warn('OPC UA values with a status that is not Good were not scored.', { ...fields(item), quality, status: code, count });
    },
    notNumeric(item, why) {
      notNumeric.inc({ node: node(item) });
      const count = limiter.hit(`nan:${item.node}`);
      if (count > 0) log.warn('OPC UA values that are not numbers were not scored.', { ...fields(item), why, count });
    },
    notificationLost(stream, seq) {
      lost.inc({ stream: node({ node: stream, stream, channel: '' }) });
      log.error('An OPC UA notification message was lost: the server no longer had it when asked again.', { stream, sequence_number: seq });
    },
    subscriptionRecreated(stream) {
      recreated.inc({ stream: node({ node: stream, stream, channel: '' }) });
      log.warn('The OPC UA server no longer had a subscription (it restarted, or the session expired); it was made anew, and what the server sampled while the link was down is a gap.', { stream });
    },
    queueOverflow(item) {
      overflows.inc({ node: node(item) });
      const count = limiter.hit(`overflow:${item.node}`);
      if (count > 0) log.error('The OPC UA server dropped values of an item from its queue; raise queue_size to cover the longest outage.', { ...fields(item), count });
    },
  };
}
