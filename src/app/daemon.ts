// The composition root of `anomalyd run`: builds every component from config, starts them in dependency order
// (telemetry, broker, state, models, sinks, pipeline, HTTP, source, broker stats, simulator) and stops them in
// reverse under one grace deadline. Constructors do nothing; start() does the I/O; stop() is idempotent and
// safe after a failed start. reload() applies a re-read config file while running (what applies live: see reload.ts).
import * as path from 'node:path';
import { autoLearnDetection } from '../config/detection';
import type { Config, DetectionConfig } from '../config/schema';
import type { AlertNotice } from '../core/alert';
import { systemClock } from '../core/clock';
import { ConfigError, errorMessage } from '../core/errors';
import { RefusalAlert, REFUSALS_QUIET_MS, REFUSALS_TO_PAGE } from '../core/refusalAlert';
import { StallSummary } from '../core/stallSummary';
import type { ComponentContext } from '../core/context';
import { onBackendNotice, selectBackend, type BackendInfo } from '../model/backend';
import type { Detector } from '../model/detector';
import type { LearnedScales } from '../model/learnedModel';
import type { LearnScales } from '../model/learnWorker';
import type { DetectorSpec } from '../model/fitDetector';
import { Pipeline, type StreamBinding } from '../pipeline/pipeline';
import type { EventPoint, Sink } from '../sinks/sink';
import type { EmbeddedBroker } from '../sources/broker';
import type { BrokerStats } from '../sources/brokerStats';
import type { MqttSource } from '../sources/mqtt';
import type { OpcuaSource } from '../sources/opcua';
import { createOpcuaTelemetry, type OpcuaTelemetry } from '../telemetry/opcuaTelemetry';
import type { ReadinessCheck } from '../telemetry/readiness';
import { createEvents, type TelemetryEvents } from '../telemetry/events';
import { createTelemetryServer, type TelemetryServer } from '../telemetry/http';
import { createLogger, type Logger } from '../telemetry/logger';
import { createMetrics, type Metrics } from '../telemetry/metrics';
import { ingestingCheck, modelsLoadedCheck, mqttConnectedCheck } from '../telemetry/readiness';
import { AlertHistoryFile } from '../state/alertHistoryFile';
import { AutoLearner, learnedRange } from './autoLearner';
import { backendPreference } from './backend';
import { createBinder, type Binder } from './bindings';
import { detectorSpec } from './detection';
import { IngestGate } from '../state/ingestGate';
import { AUTO_PREFIX, ModelRegistry } from './models';
import { applyModelShapes, readModelShapes } from './modelShape';
import { planReload, planSinkSwap, type ActiveSink, type ReloadPlan, type SinkSwap } from './reload';
import { externalUrl, planSinks, secretValues } from './sinks';
import { chooseBroker } from './brokerChoice';
import { buildOpcuaSource, opcuaIndexes, opcuaSettingsKey } from './opcuaSource';
import { buildBrokerStats, buildMqttSource, mqttModeTopics, mqttSubscriptions, shardedDeliver } from './source';
import { resolveShard } from '../config/shard';
import { shardOwnership } from '../core/shard';
import { startSimulator, type RunningSimulator } from './embeddedSimulator';
import { healthPoint } from './health';
import { Maintenance, maintenancePoints } from './maintenance';
import { Feedback } from './feedback';
import { ModelVersions } from './modelVersions';
import { daemonShadow, daemonVersionRuntime } from './modelVersionsRuntime';
import type { ShadowScoring } from './modelVersionsShadow';
import { FeedbackFile } from '../state/feedbackFile';
import { maintenanceWindows } from '../config/maintenance';
import { MaintenanceFile } from '../state/maintenanceFile';
import { OperatorApi, type AuditEvent } from '../telemetry/operatorApi';
import { StateLock } from '../state/stateLock';
import { StateStore } from '../state/stateStore';
import { FilterStateCapture, FILTERS_FILE_PREFIX, SavedFilterStates } from '../state/filterCheckpoint';
import { namingConfigKey, probeWritable } from './startupErrors';
import { startRetraining, type Retraining } from './retrainWiring';
import type { InfluxWindows, InfluxWindowsRequest } from './retrainer';

export interface DaemonInfo {
  readonly version: string;
  /**
   * Another daemon took this one's state_dir lock over (this process stalled past the stale age): what to do.
   * `run` exits at once, without the final save, so the new owner's files are not overwritten.
   */
  readonly onLockLost?: () => void;
  /** The configuration file, named in a refusal of the configuration against its models. */
  readonly configFile?: string;
  /** Retraining's source influx: a stream's history from InfluxDB (the offline reader; `run` passes it in). */
  readonly influxHistory?: (config: Config, request: InfluxWindowsRequest) => Promise<InfluxWindows>;
}

export class Daemon {
  readonly log: Logger;
  private readonly abort = new AbortController();
  private metrics?: Metrics;
  private events?: TelemetryEvents;
  private http?: TelemetryServer;
  private broker?: EmbeddedBroker;
  private source?: MqttSource;
  private opcua?: OpcuaSource;
  /** The OPC UA input's metrics and status row: made when an `opcua` section first runs, dropped when a reload removes it. */
  private opcuaTelemetry?: OpcuaTelemetry;
  /** What the running OPC UA source was built from (opcuaSettingsKey): a reload that changes it replaces the source. */
  private opcuaSettings: string | null = null;
  /** The 'opcua' readiness check is registered (at start with an opcua section, or by the reload that adds one). */
  private opcuaCheckRegistered = false;
  private brokerStats?: BrokerStats;
  private simulator?: RunningSimulator;
  private activeSinks: readonly ActiveSink[] = [];
  /** Unregisters each running sink's buffered/spool gauges. */
  private readonly sinkGauges = new Map<Sink, () => void>();
  private pipeline?: Pipeline;
  private state?: StateStore;
  private history?: AlertHistoryFile;
  private lock?: StateLock;
  private ingest?: IngestGate;
  private binder?: Binder;
  private models?: ModelRegistry;
  private healthTimer?: NodeJS.Timeout;
  private stallTimer?: NodeJS.Timeout;
  private maintenance?: Maintenance;
  /** Model versions (live, shadow, history) and the shadow versions' scoring lanes. */
  private versions?: ModelVersions;
  private shadow?: ShadowScoring;
  private retraining?: Retraining;
  /** Many streams stalling at once page once (kept here: a reload's Alertmanager sink re-asserts it). */
  private stallSummary?: StallSummary;
  private stopping?: Promise<void>;
  /** Reloads run one after another (a second SIGHUP during a reload waits for it). */
  private reloading: Promise<void> = Promise.resolve();
  /** The config in force: the file's at start, then each reload's with restart-only settings kept as they run. */
  private config: Config;
  backend?: BackendInfo;
  httpUrl?: string;

  constructor(
    config: Config,
    private readonly info: DaemonInfo,
  ) {
    this.config = config;
    this.log = createLogger({ level: config.log.level, format: config.log.format, redact: secretValues(config) });
  }

  /** The shutdown grace period in force (a reload may change it). */
  get shutdownGraceMs(): number {
    return this.config.shutdown_grace_ms;
  }

  private get sinks(): Sink[] {
    return this.activeSinks.map((a) => a.sink);
  }

  /**
   * Tells sinks the alerts firing now (Sink.reconcile: Alertmanager re-asserts them, mqtt_out's Sparkplug births
   * carry them), without those a maintenance window holds: those page nobody.
   */
  private reconcileSinks(active: readonly AlertNotice[], sinks: readonly Sink[] = this.sinks): void {
    const unheld = active.filter((n) => !(this.maintenance?.holds(n.fingerprint) ?? false));
    for (const sink of sinks) sink.reconcile?.(unheld);
  }

  /** What an auto-learning stream trains with: its settings as bound (the binder always bound it first). */
  private autoLearnDetection(b: StreamBinding): DetectionConfig {
    return this.binder?.detectionOf(b.spec.id) ?? autoLearnDetection(this.config.defaults, this.config.auto_learn);
  }

  private ctx(id: string): ComponentContext {
    if (!this.events) throw new Error('telemetry not started');
    return { id, log: this.log.child({ component: id }), events: this.events, clock: systemClock, signal: this.abort.signal };
  }

  async start(): Promise<void> {
    let c = this.config;
    // First: nothing under state_dir is read or written before this daemon is its only user. Resolved as the
    // files under it are opened (against the working directory), so the message names the directory used.
    const lock = new StateLock(path.resolve(c.state_dir), {
      log: this.log.child({ component: 'state' }),
      ...(this.info.onLockLost ? { onLost: this.info.onLockLost } : {}),
    });
    this.lock = lock;
    await namingConfigKey({ key: 'state_dir', value: c.state_dir }, () => lock.acquire());
    this.metrics = createMetrics({ maxStreamLabels: Math.min(c.limits.max_streams, 1000), version: this.info.version });
    this.events = createEvents(this.log, this.metrics);
    // First, so the first lines say which broker this run uses and why (brokerChoice.ts).
    const brokerChoice = await chooseBroker(c, this.log);
    this.broker = brokerChoice.embedded ?? undefined;
    this.backend = await selectBackend(backendPreference(c.inference.backend)).catch((err: unknown) => {
      throw new Error(`inference.backend ${c.inference.backend}: ${errorMessage(err)}`, { cause: err });
    });
    // The kernel set (avx512, avx2, generic) decides the native backend's speed, so a slow host shows why here.
    // Log only: model_info's label set {model,version,backend} is pinned by the metrics contract (docs/design.md).
    this.log.info('Selected the inference backend.', {
      backend: this.backend.name,
      kernels: this.backend.kernels,
      tfjs: this.backend.tfjsVersion,
      skipped: this.backend.skipped.join('; ') || undefined,
    });
    // Per model: one of an architecture the selected backend does not run (conv1d on the native addon) says so here.
    onBackendNotice((message) => this.log.info(message));

    this.state = new StateStore(this.ctx('state'), c.state_dir);
    const store = this.state;
    await namingConfigKey({ key: 'state_dir', value: c.state_dir }, async () => {
      await store.start();
      await probeWritable(c.state_dir);
    });
    // Before the alert state is restored: an alert a maintenance window holds is not re-asserted to the pagers.
    const maintenance = new Maintenance({
      file: new MaintenanceFile(c.state_dir, this.ctx('maintenance').log),
      log: this.ctx('maintenance').log,
      now: () => Date.now(),
      nextSequence: store.nextSequence,
      changed: (changes) => {
        this.events?.maintenanceChanged(changes);
        for (const point of maintenancePoints(changes, Date.now())) this.writeEvent(point);
      },
    });
    await maintenance.start(maintenanceWindows(c));
    this.maintenance = maintenance;
    this.metrics.provide('maintenance_windows_open', () => maintenance.calendar.openWindows().length);
    this.metrics.provide('alerts_held', () => maintenance.gate.heldCount);
    this.events.status.provideMaintenance(() => maintenance.openViews());
    // Before the alert state is restored: a resolve sent while restoring closes its episode in the history.
    this.history = new AlertHistoryFile(this.ctx('history'), c.state_dir, this.events.status.history);
    await this.history.start();
    const feedback = new Feedback({
      file: new FeedbackFile(c.state_dir, this.ctx('feedback').log),
      history: this.events.status.history,
      log: this.ctx('feedback').log,
      now: () => Date.now(),
      written: (point) => this.writeEvent(point),
    });
    this.events.status.provideFeedback((now) => ({ labelOf: (fp, startsAt) => feedback.book.get(fp, startsAt), precision: feedback.book.precision(now) }));
    await feedback.start();
    this.metrics.provide('alert_precision', () =>
      [...feedback.book.precision(Date.now())].flatMap(([stream, p]) => (p.precision === null ? [] : [{ labels: { stream }, value: p.precision }])),
    );

    // Before the models load: each loads its live version (a promotion survives restarts).
    const versions = new ModelVersions({ stateDir: c.state_dir, log: this.ctx('models').log, now: () => Date.now(), audit: (event) => this.audit(event) });
    await versions.load();
    this.versions = versions;
    this.models = new ModelRegistry(this.ctx('models'), this.backend.name, versions);
    await this.models.loadConfigured(c);
    // The streams of each loaded model take its window; a stated value that contradicts it refuses the start.
    const shaped = applyModelShapes(c, this.models.shapes(Object.keys(c.models)));
    if (shaped.problems.length > 0) throw new ConfigError(this.info.configFile ?? 'configuration', shaped.problems);
    c = shaped.config;
    this.config = c;
    const learnedDir = path.join(c.state_dir, 'models');
    await this.models.loadLearned(learnedDir);

    this.activeSinks = planSinkSwap([], this.sinkPlans(c)).sinks;
    for (const { sink } of this.activeSinks) await this.startSink(sink);
    this.events.status.provideSinks(() => this.sinks.map((s) => ({ name: s.name, ...s.stats() })));

    // Before any stream is bound: each one's score filter continues from the last checkpoint's (filterCheckpoint.ts).
    const savedFilters = await SavedFilterStates.load(this.state, this.ctx('state').log);
    this.binder = createBinder(this.ctx('alerts'), c, this.state, {
      restoreFilter: (key, filter) => savedFilters.restore(key, filter),
      onRestored: (active) => this.reconcileSinks(active),
      notify: (notices) => this.pipeline?.notify(notices),
      scalesOf: (model) => this.models?.scalesOf(model),
      calibrationFor: (model) => this.models?.get(model)?.manifest.calibration,
      learnedRange: (model, channels) => {
        const detector = this.models?.get(model);
        return detector ? learnedRange(detector, channels) : undefined;
      },
    });
    const models = this.models;
    // The stream's own settings as bound (defaults, the auto_learn profile, its subscription and stream entry).
    // A mode's own model (auto:<stream>@<mode>) names `<stream>@<mode>` in its manifest, so it loads under its name after a restart.
    const specFor = (b: StreamBinding, model: string = b.model): DetectorSpec => {
      const d = this.autoLearnDetection(b);
      const spec = model.startsWith(AUTO_PREFIX) ? { id: model.slice(AUTO_PREFIX.length), channels: b.spec.channels } : b.spec;
      return detectorSpec({ ...d, window: { ...d.window, size: b.window.size, hop: b.window.hop } }, model, spec, this.backend?.name ?? '', this.info.version);
    };
    const scalesFor = (b: StreamBinding): LearnScales => {
      const d = this.autoLearnDetection(b);
      const l = d.calibration.likelihood;
      // The extra scales are judged by the likelihood only: without it they would be learned for nothing.
      return { ensemble: d.training.ensemble, coarsePool: l.enabled ? l.coarse_pool : 0, coarsePeriod: l.enabled && l.coarse_period, periodBaseline: l.enabled && l.period_baseline, transformScale: l.enabled ? l.transform_scale : 'none' };
    };
    const learner = new AutoLearner(this.ctx('learner'), {
      windows: c.defaults.training.auto_learn_windows,
      modelsDir: learnedDir,
      backend: backendPreference(c.inference.backend),
      specFor,
      scalesFor,
      onLearned: (model: string, detector: Detector, scales: LearnedScales) => {
        models.set(model, detector.dir, detector);
        models.setScales(model, scales);
        this.pipeline?.modelReady(model, detector);
      },
    });
    const binder = this.binder;
    const shadow = (this.shadow = daemonShadow(c, this.ctx('shadow').log, this.metrics, () => this.sinks, (stream) => binder.detectionOf(stream)));
    versions.attach(daemonVersionRuntime({ config: () => this.config, learnedDir, models, pipeline: () => this.pipeline, shadow, labels: () => feedback.book.list() }));
    const retraining = await startRetraining({
      ctx: this.ctx('retrain'),
      config: () => this.config,
      metrics: this.metrics,
      specFor,
      scalesFor,
      alertWindowsOf: (b) => this.autoLearnDetection(b).alerting.n,
      episodes: () => this.events?.status.history.list() ?? [],
      labelOf: (fingerprint, startsAt) => feedback.book.get(fingerprint, startsAt)?.label,
      isStream: (stream) => this.pipeline?.streamFill().some((f) => f.stream === stream) ?? false,
      // A candidate shadows the live model in the version store; `promotion: auto` asks its judge.
      onCandidate: (model, dir, meta) => versions.addCandidate(model, dir, meta),
      shadows: versions,
      ...(this.info.influxHistory ? { influxWindows: this.info.influxHistory } : {}),
    });
    this.retraining = retraining;
    this.pipeline = new Pipeline({
      ctx: this.ctx('pipeline'),
      options: {
        queueCapacity: c.queues.capacity,
        whenFull: c.queues.when_full,
        maxBatch: c.batching.max_batch,
        maxWaitMs: c.batching.max_wait_ms,
        maxStreams: c.limits.max_streams,
        idleEvictMs: c.limits.stream_idle_evict_ms,
        newIdleEvictMs: c.limits.new_stream_idle_evict_ms,
      },
      bind: (batch) => {
        const binding = binder.bind(batch);
        if (!('refused' in binding)) savedFilters.restore(batch.stream, binding.scoreFilter);
        return binding;
      },
      detectorFor: (m) => models.get(m),
      learner,
      sinks: this.sinks,
      admission: binder.admission,
      refusals: new RefusalAlert({ fireAfter: REFUSALS_TO_PAGE, quietMs: REFUSALS_QUIET_MS, nextSequence: store.nextSequence }),
      ...(c.limits.stall_summary_streams > 0
        ? { stallSummary: (this.stallSummary = new StallSummary({ fireAfter: c.limits.stall_summary_streams, groupWaitMs: c.limits.stall_summary_wait_ms, nextSequence: store.nextSequence })) }
        : {}),
      reassert: (notices) => this.reconcileSinks(notices),
      gate: (notice) => {
        shadow.observeLive(notice);
        return maintenance.judge(notice);
      },
      versionOf: (model) => models.versionOf(model),
      shadow: (model, windows) => shadow.offer(model, windows),
      learning: (stream, labels) => maintenance.calendar.covering(stream, labels) === null,
      scored: retraining.scored,
      // The stream's learned model (state_dir/models) is kept: it took auto_learn_windows windows to learn, and a
      // stream back after a long planned stop goes on with it instead of learning again. A stream that never
      // completed a window has none (learning needs windows), so there is nothing of it to delete there.
      evict: (stream) => {
        if (!binder.evict(stream)) return false;
        learner.forget(`${AUTO_PREFIX}${stream}`);
        retraining.forget(stream);
        for (const sink of this.sinks) sink.streamGone?.(stream);
        return true;
      },
      relearn: (stream) => {
        binder.restart(stream, `Stream '${stream}' learns again: its Sparkplug birth gives other channels than it was learning on; its open alerts are closed.`);
        learner.forget(`${AUTO_PREFIX}${stream}`);
        retraining.forget(stream);
        for (const sink of this.sinks) sink.streamGone?.(stream);
      },
    });
    const pipeline = this.pipeline;
    this.events.status.provideStreamFill(() => pipeline.streamFill());
    const state = this.state;
    const ingest = new IngestGate({ ctx: this.ctx('ingest'), journal: state.journal, sinks: () => this.sinks });
    this.ingest = ingest;
    this.metrics.provide('ingestion_paused', () => (ingest.paused ? 1 : 0));
    state.onWriteProblem = (problem) => ingest.set('state', problem);
    state.addCheckpointPart(FILTERS_FILE_PREFIX, new FilterStateCapture(state.dir, (visit) => pipeline.scoreFilters(visit)));
    // Samples acknowledged before a crash: the saved windows, then the journal after them, before new input.
    const recovery = await state.enableCheckpoints(
      (add) => {
        // Windows still queued are scored first, so the alert state saved includes what they decided.
        pipeline.checkpoint(add);
        binder.persist();
      },
      async () => {
        await Promise.all(this.sinks.map((s) => s.flush()));
      },
    );
    pipeline.restoreStreams(recovery.streams);
    // Saved alerts: re-asserted to Alertmanager, or resolved for streams no longer configured (bindings.ts); the
    // streams still configured are bound now, so one that never sends again still raises its stall alert.
    for (const saved of binder.reconcileSaved()) pipeline.adopt(saved);
    await ingest.replay(recovery.batches, pipeline.deliver);
    await versions.startShadows();
    this.metrics.provide('queue_depth', () => [...pipeline.queueDepths(), ...shadow.queueDepths()].map((q) => ({ labels: { queue: q.queue }, value: q.depth })));
    this.metrics.provide('model_versions', () => versions.infoSamples(models.statuses().filter((s) => s.loaded).map((s) => s.name), (m) => models.versionOf(m)));
    this.metrics.provide('streams_active', () => pipeline.streamCount);
    // One series per stream with modes (its current mode), for the streams that have a stream label.
    const modeLabels = Math.min(c.limits.max_streams, 1000);
    this.metrics.provide('stream_mode', () => pipeline.streamModes().slice(0, modeLabels).flatMap((s) => (s.mode === null ? [] : [{ labels: { stream: s.stream, mode: s.mode }, value: 1 }])));

    // The OPC UA input's metrics and readiness exist only where it is configured.
    if (c.opcua) this.opcuaTelemetry = this.newOpcuaTelemetry();
    this.opcuaCheckRegistered = c.opcua !== undefined;
    if (c.http.enabled) {
      const status = this.events.status;
      this.http = createTelemetryServer({
        host: c.http.host,
        port: c.http.port,
        metrics: this.metrics,
        status,
        readiness: [mqttConnectedCheck(status), modelsLoadedCheck(status, () => Object.keys(this.config.models)), { name: 'storage', check: () => ingest.check() }, ingestingCheck(() => status.ingestCounters(), systemClock, c.http.ready_ingest_window_s * 1000),
          ...(c.opcua ? [this.opcuaCheck()] : [])],
        log: this.log.child({ component: 'http' }),
        page: { version: this.info.version, backend: this.backend.name, ...(c.http.external_url !== undefined ? { externalUrl: c.http.external_url } : {}) },
        ...(c.http.token !== undefined ? { bearerToken: c.http.token } : {}),
        api: new OperatorApi({
          ...(c.http.token !== undefined ? { readToken: c.http.token } : {}),
          ...(c.http.admin_token !== undefined ? { adminToken: c.http.admin_token } : {}),
          maintenance,
          feedback,
          models: versions,
          audit: (event) => this.audit(event),
          retrain: retraining.api,
          now: () => Date.now(),
        }),
      });
      const http = this.http;
      this.httpUrl = (await namingConfigKey({ key: 'http.port', value: c.http.port, hostKey: 'http.host', host: c.http.host }, () => http.start())).url;
    }

    this.source = buildMqttSource(c, this.ctx('source.mqtt'), { cleanSession: brokerChoice.cleanSession });
    // Mode messages in arrival order, for the streams this replica owns (the others' go to their owners).
    const shard = resolveShard(c.shard);
    const owns = shard.ok ? shardOwnership(shard.spec) : () => true;
    this.source.onMode((stream, mode, time) => {
      if (owns(stream)) pipeline.setMode(stream, mode, time);
    });
    // Sparkplug B births and deaths, in arrival order like the data they frame.
    this.source.onLiveness((stream, online, reason, time) => {
      if (owns(stream)) pipeline.setOnline(stream, online, time, reason);
    });
    // Data of a stream dead since before a restart: the source has no record of its node, so it asks here.
    pipeline.onOfflineData((batch) => this.source?.askRebirth(batch));
    this.metrics.provide('streams_offline', () => pipeline.offlineCount());
    await this.source.start(shardedDeliver(c, this.ctx('source.mqtt'), ingest.guard(pipeline.deliver)), ingest.commit);
    if (c.opcua) await this.startOpcua(c);
    this.brokerStats = buildBrokerStats(c, this.ctx('source.broker_stats'), this.broker !== undefined) ?? undefined;
    await this.brokerStats?.start();

    if (brokerChoice.simulate) this.simulator = await startSimulator(c, this.ctx('simulator'));
    this.healthTimer = setInterval(() => this.writeHealth(), 10_000);
    this.healthTimer.unref();
    this.stallTimer = setInterval(() => {
      const now = Date.now();
      // Held alerts whose maintenance window closed with their fault still there page now.
      pipeline.notify(maintenance.tick(now));
      pipeline.checkStalls(now);
      pipeline.evictIdle(now);
    }, 1000);
    this.stallTimer.unref();
    this.log.info('anomalyd is running.', { streams_configured: c.subscriptions.length, models: Object.keys(c.models).length, sinks: this.sinks.map((s) => s.name).join(','), state_dir: c.state_dir });
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
    this.ingest?.close();
    await this.source?.stop();
    await this.opcua?.stop();
    await this.brokerStats?.stop();
    this.pipeline?.stop();
    await this.retraining?.stop();
    this.shadow?.stop();
    await this.versions?.stop();
    this.binder?.persist();
    await this.state?.stop();
    await this.history?.stop();
    for (const sink of this.sinks) await sink.stop().catch((err: unknown) => this.log.error('A sink failed to stop cleanly.', { sink: sink.name, error: errorMessage(err) }));
    this.abort.abort();
    await this.http?.stop();
    await this.broker?.close();
    // Last: the state, the outbox and the spool under state_dir are written and closed.
    await this.lock?.release();
    this.log.info('anomalyd stopped.');
  }

  /**
   * SIGHUP: re-read and validate the config file, then apply it without losing windows (see reload.ts for what
   * applies live and what waits for a restart). An invalid file changes nothing: the daemon keeps running on the
   * config in force, the log says why and anomalyd_config_reloads_total{result="error"} counts it.
   */
  reload(configFile: string, load: (file: string) => Promise<Config>): Promise<void> {
    this.reloading = this.reloading.then(() => this.doReload(configFile, load));
    return this.reloading;
  }

  private async doReload(file: string, load: (file: string) => Promise<Config>): Promise<void> {
    const { events, models, pipeline, binder } = this;
    if (!events || !models || !pipeline || !binder || this.stopping) return;
    let plan: ReloadPlan;
    let swap: SinkSwap;
    let replaceOpcua: boolean;
    try {
      const next = await load(file);
      // The same refusal as at start, before anything is applied (the models load again below).
      const shaped = applyModelShapes(next, await readModelShapes(next));
      if (shaped.problems.length > 0) throw new ConfigError(file, shaped.problems);
      plan = planReload(this.config, shaped.config);
      // What the schema cannot check: the subscriptions compile (the source's constructor validates, no I/O)
      // and the sinks build. Nothing is applied before both pass.
      buildMqttSource(plan.config, this.ctx('source.mqtt'));
      replaceOpcua = opcuaSettingsKey(plan.config) !== this.opcuaSettings;
      if (replaceOpcua && plan.config.opcua) buildOpcuaSource(plan.config, this.ctx('source.opcua'));
      swap = planSinkSwap(this.activeSinks, this.sinkPlans(plan.config));
    } catch (err) {
      events.configReloaded({ ok: false, file, error: errorMessage(err) });
      return;
    }
    const c = plan.config;
    // First, so every later line is scrubbed of the new config's secrets.
    this.log.redactAlso(secretValues(c));
    this.log.setLevel(c.log.level);

    const loaded = await models.loadConfigured(c);
    for (const [name, detector] of loaded) pipeline.modelReady(name, detector);

    // A changed OPC UA source stops under the config it ran with: what it received is delivered and committed
    // before its streams are rebound; the new one starts after (a gap of about the reconnection time).
    const opcuaBefore = replaceOpcua ? await this.stopOpcua() : undefined;
    // Synchronous from here to the sources' route swaps: a message is bound and routed under one config.
    const next = binder.rebind(c);
    const removed: string[] = [];
    const streams = pipeline.rebind((old) => {
      const binding = next(old);
      if (binding === null) removed.push(old.spec.id);
      return binding;
    });
    if (!replaceOpcua) this.opcua?.reindex(opcuaIndexes(c));
    // Told before the sink swap: a sink kept by the reload announced these streams, a new one never will.
    for (const stream of removed) for (const sink of this.sinks) sink.streamGone?.(stream);
    for (const stream of removed) this.events?.status.forgetStream(stream);
    this.maintenance?.setConfigWindows(maintenanceWindows(c));
    const subscribed = this.source?.updateSubscriptions(mqttSubscriptions(c), mqttModeTopics(c));
    this.config = c;
    const topics = await subscribed?.catch((err: unknown) => {
      this.log.warn('Could not change the MQTT subscriptions on the live connection; the next connection uses the new ones.', { error: errorMessage(err) });
      return undefined;
    });

    const opcua = replaceOpcua ? await this.replaceOpcua(c, opcuaBefore) : undefined;
    await this.swapSinks(swap);
    events.configReloaded({
      ok: true,
      file,
      applied: plan.applied,
      restartNeeded: plan.restartNeeded,
      details: {
        models: [...loaded.keys()].join(',') || 'none',
        streams_kept: streams.kept,
        streams_restarted: streams.restarted,
        streams_removed: streams.removed,
        topics_added: topics?.added.join(',') || undefined,
        topics_removed: topics?.removed.join(',') || undefined,
        sinks_started: swap.started.map((a) => a.sink.name).join(',') || undefined,
        sinks_stopped: swap.stopped.map((a) => a.sink.name).join(',') || undefined,
        opcua,
      },
    });
  }

  /** The OPC UA source of `c`, started (its telemetry and readiness check made if this is the first). */
  private async startOpcua(c: Config, resumeAfter?: ReadonlyMap<string, number>): Promise<void> {
    const { ingest, pipeline } = this;
    if (!ingest || !pipeline) return;
    const telemetry = (this.opcuaTelemetry ??= this.newOpcuaTelemetry());
    if (!this.opcuaCheckRegistered && this.http) {
      this.http.addReadinessCheck(this.opcuaCheck());
      this.opcuaCheckRegistered = true;
    }
    const ctx = this.ctx('source.opcua');
    this.opcua = buildOpcuaSource(c, ctx, telemetry, resumeAfter);
    await this.opcua.start(shardedDeliver(c, ctx, ingest.guard(pipeline.deliver)), ingest.commit);
    // After the start: one that failed (a file it could not read) is tried again by the next reload.
    this.opcuaSettings = opcuaSettingsKey(c);
  }

  /** Stops the running OPC UA source (a reload replaces or removes it); resolves with its last sample times. */
  private async stopOpcua(): Promise<ReadonlyMap<string, number> | undefined> {
    const running = this.opcua;
    if (!running) return undefined;
    this.opcua = undefined;
    this.opcuaSettings = null;
    await running.stop('stopped by a reload: the opcua section changed');
    return running.delivered();
  }

  /** After stopOpcua: the new section's source, or none (its metrics and status row go); what the reload says. */
  private async replaceOpcua(c: Config, resumeAfter: ReadonlyMap<string, number> | undefined): Promise<string> {
    if (!c.opcua) {
      this.opcuaTelemetry?.retire();
      this.opcuaTelemetry = undefined;
      return 'removed';
    }
    try {
      await this.startOpcua(c, resumeAfter);
    } catch (err) {
      this.log.error('The OPC UA source of the reloaded configuration did not start; restart anomalyd once the cause is fixed.', { error: errorMessage(err) });
      return 'failed';
    }
    return resumeAfter ? 'replaced' : 'started';
  }

  private newOpcuaTelemetry(): OpcuaTelemetry {
    if (!this.metrics || !this.events) throw new Error('OPC UA telemetry before the metrics');
    return createOpcuaTelemetry(this.ctx('source.opcua').log, this.metrics.registry, this.events.status, systemClock);
  }

  /** Ready while the OPC UA session is up; always ready once a reload removed the section. */
  private opcuaCheck(): ReadinessCheck {
    return {
      name: 'opcua',
      check: () => {
        const t = this.opcuaTelemetry;
        if (!t) return { ok: true, detail: 'not configured' };
        return t.connected ? { ok: true } : { ok: false, detail: t.detail };
      },
    };
  }

  /** New sinks take writes at once (held until started); old ones flush and persist before new ones start. */
  private async swapSinks(swap: SinkSwap): Promise<void> {
    this.activeSinks = swap.sinks;
    this.pipeline?.replaceSinks(this.sinks);
    for (const { sink } of swap.stopped) {
      this.sinkGauges.get(sink)?.();
      this.sinkGauges.delete(sink);
      await sink.stop().catch((err: unknown) => this.log.error('A sink failed to stop cleanly.', { sink: sink.name, error: errorMessage(err) }));
    }
    for (const { sink } of swap.started) {
      try {
        await this.startSink(sink);
      } catch (err) {
        this.log.error('A sink from the reloaded configuration did not start; what it was given stays in its buffer.', { sink: sink.name, error: errorMessage(err) });
      }
      // A new sink does not know what is firing: Alertmanager would let it expire, a Sparkplug birth would omit it.
      if (this.binder) this.reconcileSinks([...this.binder.active(), ...(this.stallSummary?.activeNotices() ?? [])], [sink]);
    }
  }

  private async startSink(sink: Sink): Promise<void> {
    await sink.start();
    if (this.metrics) this.sinkGauges.set(sink, this.metrics.provideSink(sink.name, () => sink.stats()));
  }

  private sinkPlans(c: Config): ReturnType<typeof planSinks> {
    return planSinks(c, (id) => this.ctx(id), externalUrl(c));
  }

  /** An operator's (or an automatic) change: a log line, a counter and an InfluxDB point. */
  private audit(event: AuditEvent): void {
    this.events?.operatorChange(event);
    this.writeEvent({ kind: 'audit', time: Date.now(), tags: { action: event.action }, fields: { who: event.who, target: event.target, detail: event.detail } });
  }

  private writeEvent(point: EventPoint): void {
    for (const sink of this.sinks) sink.writeEvent?.(point);
  }

  private writeHealth(): void {
    const p = this.pipeline;
    if (!p || !this.events) return;
    const depth = p.queueDepths().reduce((n, q) => n + q.depth, 0);
    const point = healthPoint(Date.now(), this.config.shard, this.events.status.ingestion(), {
      streams: p.streamCount,
      queueDepth: depth,
      rssBytes: process.memoryUsage().rss,
    });
    for (const sink of this.sinks) sink.writeHealth?.(point);
  }
}
