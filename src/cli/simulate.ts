// `anomalyd simulate`: publish realistic pump or ECG signals with injected faults to an MQTT broker (QoS 1).
// stderr carries one JSON object per line: a start line, one line per fault (asset, kind, start and end times)
// so tests and demos can check what the detector should find, and a stop line. stdout stays empty.
import { connectMqttPublisher } from '../sources/mqttClient';
import { ECG_RATE_HZ, scheduleProblems, type PumpSchedule } from '../simulator/signals';
import { runSimulation, type FaultReport, type ScheduleReport, type SimulationOptions } from '../simulator/run';
import { UsageError, parseCommandArgs, parseNumberOption, requireOption } from './common';

const USAGE = `Usage: anomalyd simulate --url URL [options]

  --url URL              MQTT broker, e.g. mqtt://127.0.0.1:1883
  --profile pump|ecg     pump: 8 channels as JSON at --rate-hz; ecg: one lead at 250 Hz in f32le chunks (default pump)
  --assets N             assets per line (default 3)
  --lines L              production lines (default 1); topics <prefix>/line<L>/<profile><N>/telemetry
  --rate-hz R            pump: messages per second per asset (default 1); ecg: sampling rate (default 250)
  --chunk-samples N      ecg: samples per message (default: one second of signal)
  --anomaly-every SECS   start a fault on a random asset every SECS seconds; 0 = none (default 300)
  --fault-duration SECS  how long each fault lasts (default: half of --anomaly-every, at most 120)
  --duration SECS        stop after SECS seconds (default: run until SIGINT/SIGTERM)
  --seed S               seed of signals and faults (default 1)
  --planned-stop-every SECS     pump: a planned stop of each pump every SECS seconds, staggered across pumps;
                                0 = none (default 0). No fault is injected into a pump while it is stopped.
  --planned-stop-duration SECS  pump: length of a planned stop, ramps included (default 180, at least 20)
  --duty-point-every SECS       pump: a spell at the high duty point (about 1.4 times the flow) every SECS
                                seconds, staggered across pumps; 0 = never (default 0)
  --duty-point-duration SECS    pump: length of a spell at the high duty point (default 600, at least 30)
  --silent-when-stopped         pump: publish nothing while a pump stands still (default: standstill readings)
  --topic-prefix P       first topic level (default plant)
  --client-id ID         MQTT client id (default anomalyd-sim-<pid>)
  --username USER        broker user; the password is read from the MQTT_PASSWORD environment variable

stderr: one JSON object per line: {"event":"start",...}, {"event":"fault","asset":"line1/pump2","kind":...,
"start":<ms>,"end":<ms>,...} when a fault begins, {"event":"planned_stop"|"high_duty","asset":...,"start":<ms>,
"end":<ms>,...} when a pump's planned stop or spell at the high duty point begins (at the start: those under
way), {"event":"stop","messages":N,...}.`;

export async function simulateCommand(args: string[]): Promise<number> {
  const { values } = parseCommandArgs(
    args,
    {
      url: { type: 'string' },
      profile: { type: 'string', default: 'pump' },
      assets: { type: 'string' },
      lines: { type: 'string' },
      'rate-hz': { type: 'string' },
      'chunk-samples': { type: 'string' },
      'anomaly-every': { type: 'string' },
      'fault-duration': { type: 'string' },
      duration: { type: 'string' },
      seed: { type: 'string' },
      'planned-stop-every': { type: 'string' },
      'planned-stop-duration': { type: 'string' },
      'duty-point-every': { type: 'string' },
      'duty-point-duration': { type: 'string' },
      'silent-when-stopped': { type: 'boolean', default: false },
      'topic-prefix': { type: 'string', default: 'plant' },
      'client-id': { type: 'string' },
      username: { type: 'string' },
      help: { type: 'boolean', short: 'h', default: false },
    },
    USAGE,
  );
  if (values.help) {
    process.stdout.write(USAGE + '\n');
    return 0;
  }
  const url = requireOption(values.url, 'url', USAGE);
  const profile = values.profile;
  if (profile !== 'pump' && profile !== 'ecg') throw new UsageError(`--profile must be pump or ecg (got '${profile}')`, USAGE);
  const num = (name: string, value: string | undefined, fallback: number, check: (n: number) => boolean, what: string): number => {
    const n = parseNumberOption(value, name, USAGE) ?? fallback;
    if (!check(n)) throw new UsageError(`--${name} must be ${what} (got ${value})`, USAGE);
    return n;
  };
  const posInt = (n: number): boolean => Number.isInteger(n) && n >= 1;
  const rateHz = num('rate-hz', values['rate-hz'], profile === 'pump' ? 1 : ECG_RATE_HZ, (n) => n > 0 && n <= 10_000, 'in (0, 10000]');
  const anomalyEveryS = num('anomaly-every', values['anomaly-every'], 300, (n) => n >= 0, 'at least 0');
  const atLeast0 = (n: number): boolean => n >= 0;
  const schedule: PumpSchedule = {
    plannedStopEveryS: num('planned-stop-every', values['planned-stop-every'], 0, atLeast0, 'at least 0'),
    plannedStopDurationS: num('planned-stop-duration', values['planned-stop-duration'], 180, atLeast0, 'at least 0'),
    dutyPointEveryS: num('duty-point-every', values['duty-point-every'], 0, atLeast0, 'at least 0'),
    dutyPointDurationS: num('duty-point-duration', values['duty-point-duration'], 600, atLeast0, 'at least 0'),
  };
  const scheduleProblem = scheduleProblems(schedule)[0];
  if (scheduleProblem !== undefined) throw new UsageError(scheduleProblem, USAGE);
  const options: SimulationOptions = {
    profile,
    lines: num('lines', values.lines, 1, posInt, 'a positive integer'),
    assets: num('assets', values.assets, 3, posInt, 'a positive integer'),
    rateHz,
    chunkSamples: num('chunk-samples', values['chunk-samples'], Math.max(1, Math.round(rateHz)), posInt, 'a positive integer'),
    anomalyEveryS,
    faultDurationS: num('fault-duration', values['fault-duration'], Math.min(120, anomalyEveryS / 2), (n) => n > 0 || anomalyEveryS === 0, 'positive'),
    seed: num('seed', values.seed, 1, Number.isInteger, 'an integer'),
    topicPrefix: values['topic-prefix'],
    durationS: values.duration === undefined ? undefined : num('duration', values.duration, 0, (n) => n > 0, 'positive'),
    schedule,
    publishWhileStopped: !values['silent-when-stopped'],
  };
  if (/[+#]/.test(options.topicPrefix) || options.topicPrefix === '') throw new UsageError('--topic-prefix must be a non-empty topic without wildcards', USAGE);

  const publisher = await connectMqttPublisher({
    url,
    clientId: values['client-id'] ?? `anomalyd-sim-${process.pid}`,
    cleanSession: true,
    ...(values.username !== undefined ? { username: values.username } : {}),
    ...(process.env.MQTT_PASSWORD !== undefined ? { password: process.env.MQTT_PASSWORD } : {}),
  });
  const abort = new AbortController();
  const onSignal = (): void => abort.abort();
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  const line = (obj: Record<string, unknown>): boolean => process.stderr.write(JSON.stringify(obj) + '\n');
  try {
    line({
      event: 'start',
      profile,
      assets: options.assets * options.lines,
      rate_hz: rateHz,
      anomaly_every_s: anomalyEveryS,
      fault_duration_s: options.faultDurationS,
      seed: options.seed,
      ...(schedule.plannedStopEveryS > 0 ? { planned_stop_every_s: schedule.plannedStopEveryS, planned_stop_duration_s: schedule.plannedStopDurationS } : {}),
      ...(schedule.dutyPointEveryS > 0 ? { duty_point_every_s: schedule.dutyPointEveryS, duty_point_duration_s: schedule.dutyPointDurationS } : {}),
    });
    const summary = await runSimulation(options, {
      publish: (topic, payload) => publisher.publish(topic, payload, 1),
      onFault: (f) => line(faultLine(f)),
      onSchedule: (e) => line(scheduleLine(e)),
      signal: abort.signal,
    });
    line({ event: 'stop', messages: summary.messages, faults: summary.faults, start: summary.startMs, end: summary.endMs });
    return 0;
  } finally {
    process.removeListener('SIGINT', onSignal);
    process.removeListener('SIGTERM', onSignal);
    await publisher.close();
  }
}

function scheduleLine(e: ScheduleReport): Record<string, unknown> {
  return { event: e.kind, asset: e.assetId, topic: e.topic, start: e.startMs, end: e.endMs, start_iso: new Date(e.startMs).toISOString(), end_iso: new Date(e.endMs).toISOString() };
}

function faultLine(f: FaultReport): Record<string, unknown> {
  return {
    event: 'fault',
    asset: f.assetId,
    topic: f.topic,
    kind: f.kind,
    channel: f.channelName,
    start: f.startMs,
    end: f.endMs,
    start_iso: new Date(f.startMs).toISOString(),
    end_iso: new Date(f.endMs).toISOString(),
  };
}
