// Which MQTT broker `anomalyd run` uses, said in its first lines with the reason, and what the demo may do on a
// broker anomalyd did not start. A broker already on 127.0.0.1:1883 is usually someone's own (a test bench, a
// plant's Mosquitto): the demo subscribes there, but its simulator does not publish made-up pump telemetry
// into it and the daemon's session there is a clean one, so nothing stays queued after the demo, unless the
// config says otherwise (simulator.publish_to_external_broker). A plant config (no simulator) is untouched:
// its session follows mqtt.clean_session.
import type { Config } from '../config/schema';
import type { Log } from '../core/context';
import { namingConfigKey } from './startupErrors';
import { embeddedBrokerDecision, startEmbeddedBroker, type EmbeddedBroker } from '../sources/broker';
import { redactUrl } from '../sources/mqttClient';

export interface BrokerChoice {
  /** The broker anomalyd started in-process, if it did. */
  readonly embedded: EmbeddedBroker | null;
  /** The data session's clean-session flag (mqtt.clean_session unless the demo rule overrides it). */
  readonly cleanSession: boolean;
  /** Whether the built-in simulator runs. */
  readonly simulate: boolean;
}

export async function chooseBroker(config: Config, log: Log): Promise<BrokerChoice> {
  const m = config.mqtt;
  const url = redactUrl(m.url);
  const decision = await embeddedBrokerDecision(m.embedded_broker, m.url);
  if (decision.target) {
    const target = decision.target;
    const hint = `mqtt.embedded_broker is ${m.embedded_broker}: 'auto' uses a broker that already listens there, 'off' never starts one`;
    const embedded: EmbeddedBroker = await namingConfigKey({ key: 'mqtt.url port', value: target.port, hostKey: 'mqtt.url host', host: target.host, hint }, () =>
      startEmbeddedBroker(target),
    );
    log.info('Using the MQTT broker anomalyd started in-process (sessions in memory only: use a real broker in a plant).', {
      host: decision.target.host,
      port: embedded.port,
      why: decision.reason,
    });
    return { embedded, cleanSession: m.clean_session, simulate: config.simulator.enabled };
  }
  log.info('Using the MQTT broker at mqtt.url, which anomalyd did not start.', { url, why: decision.reason });
  if (!config.simulator.enabled) return { embedded: null, cleanSession: m.clean_session, simulate: false };
  if (config.simulator.publish_to_external_broker) {
    log.info('The built-in simulator publishes to that broker (simulator.publish_to_external_broker is true).', { url });
    return { embedded: null, cleanSession: m.clean_session, simulate: true };
  }
  log.warn('The built-in simulator does not publish to a broker anomalyd did not start, and the daemon uses a clean session there (nothing stays queued after it stops).', {
    url,
    fix: 'for the demo on its own broker, free that port or set mqtt.url (MQTT_URL with the bundled config) to a free loopback port; to publish there anyway, set simulator.publish_to_external_broker: true',
  });
  return { embedded: null, cleanSession: true, simulate: false };
}
