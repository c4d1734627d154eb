// The built-in simulator inside the daemon (the embedded demo): publishes through a real MQTT client to the
// broker, so the demo exercises the same ingestion path as a plant.
import type { Config } from '../config/schema';
import type { ComponentContext } from '../core/context';
import { errorMessage } from '../core/errors';
import { connectMqttPublisher } from '../sources/mqttClient';
import { runSimulation } from '../simulator/run';

export interface RunningSimulator {
  stop(): Promise<void>;
}

export async function startSimulator(config: Config, ctx: ComponentContext): Promise<RunningSimulator> {
  const s = config.simulator;
  const publisher = await connectMqttPublisher({ url: config.mqtt.url, clientId: `anomalyd-simulator-${process.pid}` });
  const abort = new AbortController();
  const run = runSimulation(
    {
      profile: s.profile,
      lines: s.lines,
      assets: s.assets,
      rateHz: s.rate_hz,
      chunkSamples: 250,
      anomalyEveryS: s.anomaly_every_s,
      faultDurationS: s.fault_duration_s,
      seed: s.seed,
      topicPrefix: 'plant',
      schedule: { plannedStopEveryS: s.planned_stop_every_s, plannedStopDurationS: s.planned_stop_duration_s, dutyPointEveryS: s.duty_point_every_s, dutyPointDurationS: s.duty_point_duration_s },
      publishWhileStopped: s.publish_while_stopped,
    },
    {
      publish: (topic, payload) => publisher.publish(topic, payload, 1),
      onFault: (f) => ctx.log.info('Simulator injected a fault.', { asset: f.assetId, kind: f.kind, start: new Date(f.startMs).toISOString(), end: new Date(f.endMs).toISOString() }),
      onSchedule: (e) =>
        ctx.log.info(e.kind === 'planned_stop' ? 'Simulator: a planned stop of a pump.' : 'Simulator: a pump runs at its high duty point.', {
          asset: e.assetId,
          start: new Date(e.startMs).toISOString(),
          end: new Date(e.endMs).toISOString(),
        }),
      signal: abort.signal,
    },
  ).catch((err: unknown) => ctx.log.error('The simulator stopped with an error.', { error: errorMessage(err) }));
  ctx.log.info('Started the built-in simulator.', {
    profile: s.profile,
    lines: s.lines,
    assets: s.assets,
    anomaly_every_s: s.anomaly_every_s,
    ...(s.planned_stop_every_s > 0 ? { planned_stop_every_s: s.planned_stop_every_s, planned_stop_duration_s: s.planned_stop_duration_s } : {}),
    ...(s.duty_point_every_s > 0 ? { duty_point_every_s: s.duty_point_every_s, duty_point_duration_s: s.duty_point_duration_s } : {}),
  });
  return {
    async stop() {
      abort.abort();
      await run;
      await publisher.close();
    },
  };
}
