// The composition root of `anomalyd run`: builds every component from config, starts them in dependency order
// (telemetry, state, models, sinks, pipeline, HTTP, broker, source, simulator) and stops them in reverse under
// one grace deadline. Constructors do nothing; start() does the I/O; stop() is idempotent and safe after a
// failed start.
import * as path from 'node:path';
import type { Config } from '../config/schema';
import { systemClock } from '../core/clock';
import type { ComponentContext } from '../core/context';
import { selectBackend, type BackendInfo } from '../model/backend';
import type { Detector } from '../model/detector';
import { Pipeline } from '../pipeline/pipeline';
import { AlertmanagerSink } from '../sinks/alertmanager';
import type { Sink } from '../sinks/sink';
import { embeddedBrokerTarget, startEmbeddedBroker, type EmbeddedBroker } from '../sources/broker';
import type { MqttSource } from '../sources/mqtt';
import { createEvents, type TelemetryEvents } from '../telemetry/events';
import { createTelemetryServer, type TelemetryServer } from '../telemetry/http';
import { createLogger, type Logger } from '../telemetry/logger';
import { createMetrics, type Metrics } from '../telemetry/metrics';
import { modelsLoadedCheck, mqttConnectedCheck } from '../telemetry/readiness';
import { AutoLearner } from './autoLearner';
import { backendPreference } from './backend';
import { createBinder, type Binder } from './bindings';
import { detectorSpec } from './detection';
import { ModelRegistry } from './models';
import { buildSinks, secretValues } from './sinks';
import { buildMqttSource } from './source';
import { startSimulator, type RunningSimulator } from './simulator';
import { StateStore } from './stateStore';

export interface DaemonInfo {
  readonly version: string;
}

export class Daemon {
  readonly log: Logger;
  private readonly abort = new AbortController();
  private metrics?: Metrics;
  private events?: TelemetryEvents;
  private http?: TelemetryServer;
  private broker?: EmbeddedBroker;
  private source?: MqttSource;
  private simulator?: RunningSimulator;
  private sinks: Sink[] = [];
  private pipeline?: Pipeline;
  private state?: StateStore;
  private binder?: Binder;
  private models?: ModelRegistry;
  private healthTimer?: NodeJS.Timeout;
  private stallTimer?: NodeJS.Timeout;
  private stopping?: Promise<void>;
  backend?: BackendInfo;
  httpUrl?: string;

  constructor(
    private readonly config: Config,
    private readonly info: DaemonInfo,
  ) {
    this.log = createLogger({ level: config.log.level, format: config.log.format, redact: secretValues(config) });
  }

  private ctx(id: string): ComponentContext {
    if (!this.events) throw new Error('telemetry not started');
    return { id, log: this.log.child({ component: id }), events: this.events, clock: systemClock, signal: this.abort.signal };
  }

  async start(): Promise<void> {
    const c = this.config;
    this.metrics = createMetrics({ maxStreamLabels: Math.min(c.limits.max_streams, 1000), version: this.info.version });
    this.events = createEvents(this.log, this.metrics);
    this.backend = await selectBackend(backendPreference(c.inference.backend));
    this.log.info('Selected the inference backend.', { backend: this.backend.name, tfjs: this.backend.tfjsVersion, skipped: this.backend.skipped.join('; ') || undefined });

    this.state = new StateStore(this.ctx('state'), c.state_dir);
    await this.state.start();

    this.models = new ModelRegistry(this.ctx('models'), this.backend.name);
    await this.models.loadConfigured(c);
    const learnedDir = path.join(c.state_dir, 'models');
    await this.models.loadLearned(learnedDir);

    const externalUrl = `http://${c.http.host}:${c.http.port}/`;
    this.sinks = buildSinks(c, (id) => this.ctx(id), externalUrl);
    for (const sink of this.sinks) {
      await sink.start();
      this.metrics.provideSink(sink.name, () => sink.stats());
    }

    const alertmanager = this.sinks.find((s): s is AlertmanagerSink => s instanceof AlertmanagerSink);
    this.binder = createBinder(this.ctx('alerts'), c, this.state, (active) => alertmanager?.reconcile(active));
    const models = this.models;
    const learner = new AutoLearner(this.ctx('learner'), {
      windows: c.defaults.training.auto_learn_windows,
      modelsDir: learnedDir,
      backend: backendPreference(c.inference.backend),
      specFor: (b) => detectorSpec({ ...c.defaults, window: { ...c.defaults.window, size: b.window.size, hop: b.window.hop } }, b.model, b.spec, this.backend?.name ?? '', this.info.version),
      onLearned: (model: string, detector: Detector) => {
        models.set(model, detector.dir, detector);
        this.pipeline?.modelReady(model, detector);
      },
    });
    const binder = this.binder;
    this.pipeline = new Pipeline({
      ctx: this.ctx('pipeline'),
      options: {
        queueCapacity: c.queues.capacity,
        whenFull: c.queues.when_full,
        maxBatch: c.batching.max_batch,
        maxWaitMs: c.batching.max_wait_ms,
        maxStreams: c.limits.max_streams,
      },
      bind: (batch) => binder.bind(batch),
      detectorFor: (m) => models.get(m),
      learner,
      sinks: this.sinks,
    });
    const pipeline = this.pipeline;
    this.metrics.provide('queue_depth', () => pipeline.queueDepths().map((q) => ({ labels: { queue: q.queue }, value: q.depth })));
    this.metrics.provide('streams_active', () => pipeline.streamCount);

    if (c.http.enabled) {
      const status = this.events.status;
      this.http = createTelemetryServer({
        host: c.http.host,
        port: c.http.port,
        metrics: this.metrics,
        status,
        readiness: [mqttConnectedCheck(status), modelsLoadedCheck(status, Object.keys(c.models))],
        log: this.log.child({ component: 'http' }),
        page: { version: this.info.version, backend: this.backend.name },
        ...(c.http.token !== undefined ? { bearerToken: c.http.token } : {}),
      });
      this.httpUrl = (await this.http.start()).url;
    }

    const target = await embeddedBrokerTarget(c.mqtt.embedded_broker, c.mqtt.url);
    if (target) {
      this.broker = await startEmbeddedBroker(target);
      this.log.info('Started the embedded MQTT broker (sessions in memory only: use a real broker in a plant).', { host: target.host, port: this.broker.port });
    }
    this.source = buildMqttSource(c, this.ctx('source.mqtt'));
    await this.source.start(pipeline.deliver);

    if (c.simulator.enabled) this.simulator = await startSimulator(c, this.ctx('simulator'));
    this.healthTimer = setInterval(() => this.writeHealth(), 10_000);
    this.healthTimer.unref();
    this.stallTimer = setInterval(() => pipeline.checkStalls(Date.now()), 1000);
    this.stallTimer.unref();
    this.log.info('anomalyd is running.', { streams_configured: c.subscriptions.length, models: Object.keys(c.models).length, sinks: this.sinks.map((s) => s.name).join(',') });
  }

  /** Stop in reverse order: no new input, score what is queued, persist state, flush sinks. */
  stop(): Promise<void> {
    this.stopping ??= this.doStop();
    return this.stopping;
  }

  private async doStop(): Promise<void> {
    if (this.healthTimer) clearInterval(this.healthTimer);
    if (this.stallTimer) clearInterval(this.stallTimer);
    await this.simulator?.stop();
    await this.source?.stop();
    this.pipeline?.stop();
    this.binder?.persist();
    await this.state?.stop();
    for (const sink of this.sinks) await sink.stop().catch((err: unknown) => this.log.error('A sink failed to stop cleanly.', { sink: sink.name, error: (err as Error).message }));
    this.abort.abort();
    await this.http?.stop();
    await this.broker?.close();
    this.log.info('anomalyd stopped.');
  }

  /**
   * SIGHUP: re-read the config file and reload every model without losing windows (the pipeline swaps a
   * detector between two batches). Subscriptions, sinks and the broker connection keep their running settings
   * until a restart, and the log says so.
   */
  async reload(configFile: string, load: (file: string) => Promise<Config>): Promise<void> {
    let next: Config;
    try {
      next = await load(configFile);
    } catch (err) {
      this.log.error('Reload refused: the configuration is invalid; still running with the previous one.', { file: configFile, error: (err as Error).message });
      return;
    }
    if (!this.models || !this.pipeline) return;
    const loaded = await this.models.loadConfigured(next);
    for (const [name, detector] of loaded) this.pipeline.modelReady(name, detector);
    const changed = (['mqtt', 'subscriptions', 'streams', 'sinks', 'http'] as const).filter((k) => JSON.stringify(next[k]) !== JSON.stringify(this.config[k]));
    this.log.info('Reloaded models.', { models: [...loaded.keys()].join(',') || 'none', restart_needed_for: changed.join(',') || undefined });
  }

  private writeHealth(): void {
    const p = this.pipeline;
    if (!p) return;
    const depth = p.queueDepths().reduce((n, q) => n + q.depth, 0);
    const point = { time: Date.now(), fields: { streams: p.streamCount, queue_depth: depth, rss_bytes: process.memoryUsage().rss } };
    for (const sink of this.sinks) sink.writeHealth?.(point);
  }
}
