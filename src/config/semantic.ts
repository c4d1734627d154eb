// Rules that span several fields and so cannot live in the JSON Schema: topic filters and their templates, model
// references, unique names, min <= max pairs, and detection settings after overrides are applied.
import { convWindowProblem } from '../core/convShape';
import { parseSharedFilter } from '../core/shard';
import { SPARKPLUG_NAMES, sparkplugNodePattern, sparkplugRouteProblems } from '../core/sparkplugNames';
import { learnsChannels } from './learntChannels';
import { windowOptionProblems, type WindowOptionProblem } from '../core/window';
import { autoLearnDetection, configuredModel, streamDetection, windowOptions } from './detection';
import type { ConfigPath, ProblemList, Segment } from './problems';
import type { Config, DetectionConfig, DetectionOverrides, SubscriptionConfig } from './schema';
import { checkMaintenance } from './maintenance';
import { checkOpcua } from './opcuaCheck';
import { mqttSubscriptionCount } from './opcuaStreams';
import { checkModes } from './modes';
import { checkRetrain } from './retrainCheck';
import { resolveShard } from './shard';

const PLACEHOLDER = /\{([^{}]*)\}/g;
const NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;

export function checkSemantics(config: Config, problems: ProblemList): void {
  const { mqtt } = config;
  if (mqtt.reconnect.min_delay_ms > mqtt.reconnect.max_delay_ms) {
    problems.add(['mqtt', 'reconnect', 'min_delay_ms'], `must not exceed max_delay_ms (${mqtt.reconnect.max_delay_ms})`, mqtt.reconnect.min_delay_ms);
  }
  if ((mqtt.tls.cert_file === undefined) !== (mqtt.tls.key_file === undefined)) {
    const missing = mqtt.tls.cert_file === undefined ? 'cert_file' : 'key_file';
    problems.add(['mqtt', 'tls', missing], 'is required when the other half of the client certificate is set', undefined);
  }
  if (config.batching.max_batch > config.queues.capacity) {
    problems.add(['batching', 'max_batch'], `must not exceed queues.capacity (${config.queues.capacity})`, config.batching.max_batch);
  }
  checkDetection([{ at: ['defaults'], values: config.defaults }], config.defaults, problems);
  checkDetection(
    [
      { at: ['defaults'], values: config.defaults },
      { at: ['auto_learn'], values: config.auto_learn },
    ],
    autoLearnDetection(config.defaults, config.auto_learn),
    problems,
  );
  const streamPatterns = config.subscriptions.map((sub, i) => checkSubscription(config, sub, i, problems));
  checkStreams(config, streamPatterns, problems);
  checkOpcua(config, problems, streamPatterns.slice(0, mqttSubscriptionCount(config)));
  checkSinks(config, problems);
  checkScaleOut(config, problems);
  checkSimulatorSchedule(config, problems);
  checkExternalUrl(config.http.external_url, problems);
  if (config.http.admin_token !== undefined && config.http.admin_token === config.http.token) {
    // Named, never shown: the value is a secret.
    problems.add(['http', 'admin_token'], 'must differ from http.token (the read token would then make changes)', undefined, true);
  }
  checkMaintenance(config, problems);
  checkRetrain(config, problems);
}

/**
 * What the schema's pattern cannot see: the URL parses with a host, and carries no query, fragment or
 * credentials (links are built by appending "/?stream=..." and "/metrics", and receivers see it in every payload).
 */
// A planned stop or duty spell as long as its period would never end.
function checkSimulatorSchedule(config: Config, problems: ProblemList): void {
  const s = config.simulator;
  for (const [every, duration] of [
    ['planned_stop_every_s', 'planned_stop_duration_s'],
    ['duty_point_every_s', 'duty_point_duration_s'],
  ] as const) {
    if (s[every] > 0 && s[duration] >= s[every]) problems.add(['simulator', duration], `must be shorter than ${every} (${s[every]})`, s[duration]);
  }
}

function checkExternalUrl(value: string | undefined, problems: ProblemList): void {
  if (value === undefined) return;
  const at: ConfigPath = ['http', 'external_url'];
  let u: URL;
  try {
    u = new URL(value);
  } catch {
    problems.add(at, 'is not an absolute http(s) URL', value);
    return;
  }
  if (u.protocol !== 'http:' && u.protocol !== 'https:') problems.add(at, 'must start with http:// or https://', value);
  else if (u.hostname === '') problems.add(at, 'needs a host name', value);
  else if (u.search !== '' || u.hash !== '') problems.add(at, 'must not have a query or fragment (links are built by appending paths to it)', value);
  else if (u.username !== '' || u.password !== '') problems.add(at, 'must not carry credentials (it is sent in every alert payload)', value);
}

function checkModelRef(config: Config, model: string, at: ConfigPath, problems: ProblemList): void {
  if (model !== 'auto' && !Object.prototype.hasOwnProperty.call(config.models, model)) {
    const known = Object.keys(config.models);
    problems.add(at, `names no model; use "auto" or one of: ${known.length > 0 ? known.join(', ') : '(no models configured)'}`, model);
  }
}

/** Returns a matcher for the stream ids this subscription produces. */
function checkSubscription(config: Config, sub: SubscriptionConfig, i: number, problems: ProblemList): RegExp | undefined {
  const at: Segment[] = ['subscriptions', i];
  const topicOk = checkTopicFilter(parseSharedFilter(sub.topic).filter, [...at, 'topic'], problems, sub.topic);
  const sparkplug = sub.decoder === 'sparkplug_b';
  if (sparkplug) for (const problem of sparkplugRouteProblems(sub.topic, sub.stream, sub.template, sub.sparkplug?.node_device)) problems.add([...at, problem.startsWith('template') ? 'template' : problem.startsWith('stream') ? 'stream' : 'topic'], problem, undefined);
  else if (sub.sparkplug !== undefined) problems.add([...at, 'sparkplug'], 'is only read with decoder sparkplug_b', undefined);
  const names = sparkplug ? new Set(SPARKPLUG_NAMES) : sub.template === undefined ? new Set<string>() : checkTemplate(sub, topicOk, at, problems);
  const used = [...sub.stream.matchAll(PLACEHOLDER)].map((m) => m[1] ?? '');
  // A sparkplug_b stream's names were checked above (sparkplugRouteProblems).
  for (const name of sparkplug ? [] : used) {
    if (name !== 'topic' && !names.has(name)) {
      const hint = sub.template === undefined ? 'add a `template` that names the topic levels' : `the template names ${[...names].join(', ') || 'nothing'}`;
      problems.add([...at, 'stream'], `uses {${name}}, which is not defined; ${hint} (or use {topic})`, sub.stream);
    }
  }
  if (used.length === 0 && /[+#]/.test(parseSharedFilter(sub.topic).filter)) {
    problems.add([...at, 'stream'], 'has no placeholder although the topic has wildcards, so every matching topic would feed the same windows', sub.stream);
  }
  if ((sub.decoder === 'f32le' || sub.decoder === 'json_array') && sub.sample_rate_hz === undefined) {
    problems.add([...at, 'sample_rate_hz'], `is required for decoder ${sub.decoder}`, undefined);
  }
  // A sparkplug_b subscription learns them from each stream's birth (learntChannels.ts).
  if (sub.channels === undefined && sub.model === 'auto' && !learnsChannels(sub)) {
    problems.add([...at, 'channels'], 'is required when the model is "auto" (a configured model gives its own channels; with decoder sparkplug_b they may be learnt from the births)', undefined);
  }
  if (sub.decoder === 'number' && sub.channels !== undefined && sub.channels.length !== 1) {
    problems.add([...at, 'channels'], 'must name exactly one channel for decoder number', sub.channels);
  }
  config.subscriptions.forEach((other, j) => {
    if (j < i && other.topic === sub.topic) problems.add([...at, 'topic'], `repeats the topic of subscriptions[${j}]`, sub.topic);
  });
  checkModelRef(config, sub.model, [...at, 'model'], problems);
  if (sub.modes) checkModes(config, sub, sub.modes, sub.channels, at, problems);
  const eff = streamDetection(config, sub, undefined);
  checkDetection([...baseLayers(config, sub, undefined), { at, values: sub }], eff, problems);
  if (sub.model === 'auto' && sub.channels !== undefined) checkBottleneck(eff, sub.channels.length, { at, values: sub }, problems);
  if (sub.channels !== undefined) checkRhythmChannel(eff, sub.channels, { at, values: sub }, problems);
  return streamMatcher(sub);
}

/** `topic` is the filter without a `$share/<group>/` prefix; `written` is what the config says (for messages). */
function checkTopicFilter(topic: string, at: ConfigPath, problems: ProblemList, written = topic): boolean {
  const levels = topic.split('/');
  for (let i = 0; i < levels.length; i++) {
    const level = levels[i] ?? '';
    if ((level.includes('+') && level !== '+') || (level.includes('#') && level !== '#')) {
      problems.add(at, 'is not a valid topic filter: "+" and "#" must fill a whole level', written);
      return false;
    }
    if (level === '#' && i !== levels.length - 1) {
      problems.add(at, 'is not a valid topic filter: "#" must be the last level', written);
      return false;
    }
  }
  if (topic.includes('\u0000')) {
    problems.add(at, 'must not contain NUL characters', written);
    return false;
  }
  return true;
}

function checkTemplate(sub: SubscriptionConfig, topicOk: boolean, at: Segment[], problems: ProblemList): Set<string> {
  const template = sub.template ?? '';
  const names = new Set<string>();
  const where = [...at, 'template'];
  for (const match of template.matchAll(PLACEHOLDER)) {
    const name = match[1] ?? '';
    if (!NAME.test(name) || name === 'topic') {
      problems.add(where, `has an invalid placeholder {${name}}; names are letters, digits and "_" and {topic} is reserved`, template);
    } else if (names.has(name)) {
      problems.add(where, `names {${name}} twice`, template);
    }
    names.add(name);
  }
  if (!topicOk) return names;
  const plain = parseSharedFilter(sub.topic).filter;
  const topicLevels = plain.split('/');
  const templateLevels = template.split('/');
  if (topicLevels.length !== templateLevels.length) {
    problems.add(where, `has ${templateLevels.length} levels but the topic ${plain} has ${topicLevels.length}`, template);
    return names;
  }
  topicLevels.forEach((level, k) => {
    const own = templateLevels[k] ?? '';
    const isPlaceholder = /^\{[^{}]*\}$/.test(own);
    if ((level === '+' || level === '#') && !isPlaceholder) {
      problems.add(where, `level ${k + 1} must be a {name} where the topic has "${level}"`, template);
    } else if (level !== '+' && level !== '#' && own !== level) {
      problems.add(where, `level ${k + 1} must be "${level}" as in the topic`, template);
    }
  });
  return names;
}

/** A sparkplug_b subscription also produces its edge nodes' own streams (sparkplugNodePattern). */
function streamMatcher(sub: SubscriptionConfig): RegExp {
  const own = patternMatcher(sub, sub.stream);
  if (sub.decoder !== 'sparkplug_b') return own;
  return new RegExp(`${own.source}|${patternMatcher(sub, sparkplugNodePattern(sub.stream, sub.sparkplug?.node_device)).source}`);
}

function patternMatcher(sub: SubscriptionConfig, stream: string): RegExp {
  let source = '';
  let last = 0;
  for (const match of stream.matchAll(PLACEHOLDER)) {
    source += escapeRegExp(stream.slice(last, match.index)) + (match[1] === 'topic' ? topicSource(parseSharedFilter(sub.topic).filter) : '[^/]+');
    last = (match.index ?? 0) + match[0].length;
  }
  return new RegExp(`^${source}${escapeRegExp(stream.slice(last))}$`);
}

/** The topics a filter matches, as a regular expression source. */
function topicSource(filter: string): string {
  return filter
    .split('/')
    .map((level) => (level === '+' ? '[^/]+' : level === '#' ? '.*' : escapeRegExp(level)))
    .join('/');
}

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

function checkStreams(config: Config, patterns: (RegExp | undefined)[], problems: ProblemList): void {
  const seen = new Map<string, number>();
  config.streams.forEach((stream, j) => {
    const at: Segment[] = ['streams', j];
    const earlier = seen.get(stream.id);
    if (earlier !== undefined) problems.add([...at, 'id'], `repeats the id of streams[${earlier}]`, stream.id);
    seen.set(stream.id, j);
    checkModelRef(config, stream.model, [...at, 'model'], problems);
    const i = patterns.findIndex((p) => p?.test(stream.id));
    const sub = config.subscriptions[i];
    if (sub === undefined) {
      problems.add([...at, 'id'], 'matches the stream of no subscription, so it would never receive data', stream.id);
      return;
    }
    if (stream.channels !== undefined && learnsChannels(sub)) {
      problems.add([...at, 'channels'], `cannot be set: subscriptions[${i}] learns each stream's channels from its Sparkplug births; list channels on the subscription instead`, stream.channels);
    }
    // Unset subscription channels are the model's: checked against them once the models load (modelShape.ts).
    const subChannels = sub.channels;
    stream.channels?.forEach((channel, c) => {
      if (subChannels && !subChannels.includes(channel)) {
        problems.add([...at, 'channels', c], `is not a channel of subscriptions[${i}] (${subChannels.join(', ')})`, channel);
      }
    });
    if (stream.modes) checkModes(config, sub, stream.modes, stream.channels ?? subChannels, at, problems);
    const eff = streamDetection(config, sub, stream);
    checkDetection([...baseLayers(config, sub, stream), { at: ['subscriptions', i], values: sub }, { at, values: stream }], eff, problems);
    // A stream entry that narrows the channels or overrides the window or training gets its own check.
    const own = stream.channels !== undefined || stream.window?.size !== undefined || stream.training?.latent_units !== undefined;
    const channels = stream.channels ?? subChannels;
    if (own && configuredModel(sub, stream) === 'auto' && channels !== undefined) checkBottleneck(eff, channels.length, { at, values: stream }, problems);
    if (channels !== undefined && (stream.channels !== undefined || stream.training?.rhythm !== undefined)) checkRhythmChannel(eff, channels, { at, values: stream }, problems);
  });
}

/**
 * The rhythm's channel must be one of the stream's (the window buffer refuses it otherwise). Reported at the entry's
 * own rhythm.channel when it writes one, else at its channels. A stream of a trained model takes the model's rhythm
 * (app/modelShape.ts), checked with the model.
 */
function checkRhythmChannel(eff: DetectionConfig, channels: readonly string[], entry: Layer, problems: ProblemList): void {
  const r = eff.training.rhythm;
  if (!r.enabled || r.channel === '' || channels.includes(r.channel)) return;
  const written = get(entry.values, ['training', 'rhythm', 'channel']) !== undefined;
  problems.add(
    [...entry.at, ...(written ? ['training', 'rhythm', 'channel'] : ['channels'])],
    `rhythm.channel '${r.channel}' is not one of the stream's channels (${channels.join(', ')})`,
    written ? r.channel : channels,
  );
}

/**
 * An auto-learned model's bottleneck must be narrower than its input (window size x channels), or training
 * refuses it (model/autoencoder.ts) when the stream has already collected its learning windows. Reported at
 * the entry's own latent_units or window size when it writes one, else at its channels.
 */
function checkBottleneck(eff: DetectionConfig, channels: number, entry: Layer, problems: ProblemList): void {
  const input = eff.window.size * channels;
  if (eff.training.latent_units < input) return;
  // Wider than the last encoder layer is reported already (checkDetection), at the same key.
  const lastEncoder = eff.training.encoder_units[eff.training.encoder_units.length - 1] ?? Infinity;
  if (eff.training.architecture === 'dense' && eff.training.latent_units > lastEncoder) return;
  const written = [['training', 'latent_units'], ['window', 'size']].find((f) => get(entry.values, f) !== undefined);
  const at = [...entry.at, ...(written ?? ['channels'])];
  problems.add(
    at,
    `the autoencoder's bottleneck (training.latent_units ${eff.training.latent_units}) must be smaller than its input, window size x channels (${eff.window.size} x ${channels} = ${input})`,
    written ? get(entry.values, written) : get(entry.values, ['channels']),
  );
}

/** The layers under a subscription: `defaults`, and the auto_learn profile when the stream learns its own model. */
function baseLayers(config: Config, sub: SubscriptionConfig, stream: { readonly model?: string } | undefined): Layer[] {
  const layers: Layer[] = [{ at: ['defaults'], values: config.defaults }];
  if (configuredModel(sub, stream) === 'auto') layers.push({ at: ['auto_learn'], values: config.auto_learn });
  return layers;
}

/** The config key of each WindowOptions field (see windowOptions). */
const WINDOW_KEY: Readonly<Record<WindowOptionProblem['option'], string>> = {
  size: 'size',
  hop: 'hop',
  maxGapMs: 'max_gap_ms',
  minCompleteness: 'min_completeness',
  samplePeriodMs: 'sample_period_ms',
  maxGapSteps: 'max_gap_steps',
};

interface Layer {
  at: ConfigPath;
  values: DetectionOverrides;
}

/**
 * Checks the effective settings, reporting each violation at the most specific layer that sets one of the fields
 * involved, and only when that layer is the newest one (so a bad `defaults` is reported once, not per stream).
 */
function checkDetection(layers: Layer[], eff: DetectionConfig, problems: ProblemList): void {
  const rule = (fields: string[][], ok: boolean, message: string, value: unknown): void => {
    if (ok) return;
    const owner = [...layers].reverse().find((layer) => fields.some((f) => get(layer.values, f) !== undefined));
    if (owner !== layers[layers.length - 1] || owner === undefined) return;
    const field = fields.find((f) => get(owner.values, f) !== undefined) ?? fields[0] ?? [];
    problems.add([...owner.at, ...field], message, value ?? get(owner.values, field));
  };
  const { window, training, calibration, alerting } = eff;
  rule([['window', 'hop'], ['window', 'size']], window.hop <= window.size, `window hop (${window.hop}) must not exceed window size (${window.size})`, undefined);
  // The window's own checks, on the options a stream's WindowBuffer will be built with: one source of truth.
  for (const p of windowOptionProblems(windowOptions(window))) rule([['window', WINDOW_KEY[p.option]]], false, p.message, p.got);
  const lastEncoder = training.encoder_units[training.encoder_units.length - 1] ?? Infinity;
  rule(
    [['training', 'latent_units'], ['training', 'encoder_units']],
    training.architecture !== 'dense' || training.latent_units <= lastEncoder,
    `latent_units (${training.latent_units}) must not exceed the last encoder layer (${lastEncoder}): the bottleneck must be narrowest`,
    undefined,
  );
  rule(
    [['training', 'score_steps'], ['window', 'size']],
    training.score_steps <= window.size,
    `score_steps (${training.score_steps}) must not exceed window size (${window.size})`,
    undefined,
  );
  rule(
    [['training', 'rhythm', 'channel'], ['training', 'rhythm', 'enabled']],
    !training.rhythm.enabled || training.rhythm.channel !== '',
    'rhythm.channel is required when rhythm is enabled: the channel whose events give the rhythm',
    undefined,
  );
  // Binary cross-entropy is not a distance beyond [0, 1]: past the edge it falls again where the output leans that way.
  rule(
    [['training', 'out_of_range'], ['training', 'score_metric']],
    training.out_of_range === 'clip' || training.score_metric !== 'bce',
    `out_of_range keep needs score_metric mse or mae (bce is not a distance for values outside [0, 1])`,
    undefined,
  );
  if (training.architecture === 'conv1d') {
    // The builder's own rule (model/convAutoencoder.ts), so validate refuses what training would.
    const problem = convWindowProblem(window.size, { filters: training.conv_filters, kernelSize: training.kernel_size });
    // Named at the convolution setting at fault (the window size where a later layer shortens the window).
    const setting = window.size < training.kernel_size ? 'kernel_size' : 'conv_filters';
    rule([['training', setting], ['window', 'size'], ['training', 'architecture']], problem === undefined, problem ?? '', undefined);
  }
  rule(
    [['calibration', 'pot', 'q'], ['calibration', 'pot', 'initial_quantile']],
    calibration.pot.q < 1 - calibration.pot.initial_quantile,
    `pot q (${calibration.pot.q}) must be below 1 - initial_quantile (${(1 - calibration.pot.initial_quantile).toPrecision(3)})`,
    undefined,
  );
  rule(
    [['calibration', 'spot', 'q'], ['calibration', 'spot', 'initial_quantile']],
    calibration.spot.q < 1 - calibration.spot.initial_quantile,
    `spot q (${calibration.spot.q}) must be below 1 - initial_quantile (${(1 - calibration.spot.initial_quantile).toPrecision(3)})`,
    undefined,
  );
  rule(
    [['calibration', 'likelihood', 'learning_windows'], ['calibration', 'likelihood', 'history_windows']],
    calibration.likelihood.learning_windows <= calibration.likelihood.history_windows,
    `likelihood learning_windows (${calibration.likelihood.learning_windows}) must not exceed history_windows (${calibration.likelihood.history_windows})`,
    undefined,
  );
  rule([['alerting', 'k'], ['alerting', 'n']], alerting.k <= alerting.n, `k (${alerting.k}) must not exceed n (${alerting.n})`, undefined);
}

function get(value: unknown, fields: readonly string[]): unknown {
  let node = value;
  for (const f of fields) {
    if (node === null || typeof node !== 'object') return undefined;
    node = (node as Record<string, unknown>)[f];
  }
  return node;
}

function checkSinks(config: Config, problems: ProblemList): void {
  const names = new Map<string, number>();
  config.sinks.webhooks.forEach((hook, i) => {
    const earlier = names.get(hook.name);
    if (earlier !== undefined) problems.add(['sinks', 'webhooks', i, 'name'], `repeats the name of sinks.webhooks[${earlier}]`, hook.name);
    names.set(hook.name, i);
  });
  checkMqttOutTopics(config, problems);
  const influx = config.sinks.influx;
  if (influx) {
    let fromUrl = '';
    try {
      fromUrl = decodeURIComponent(new URL(influx.url).pathname.replace(/^\/+|\/+$/g, ''));
    } catch {
      problems.add(['sinks', 'influx', 'url'], 'is not a valid URL', influx.url);
      return;
    }
    if (fromUrl === '' && influx.database === undefined) {
      problems.add(['sinks', 'influx', 'database'], 'is required when the URL has no path naming the database', undefined);
    } else if (fromUrl !== '' && influx.database !== undefined && influx.database !== fromUrl) {
      problems.add(['sinks', 'influx', 'database'], `differs from the database in the URL ("${fromUrl}"); give it once`, influx.database);
    }
  }
}

/** What each mqtt_out topic template must and may name: a stream's topics must differ per stream (and per kind). */
const MQTT_OUT_PLACEHOLDERS = {
  score: { required: ['stream'], allowed: ['stream'] },
  alert: { required: ['stream', 'kind'], allowed: ['stream', 'kind'] },
  status: { required: [], allowed: ['client_id'] },
} as const;

function checkMqttOutTopics(config: Config, problems: ProblemList): void {
  const out = config.sinks.mqtt_out;
  if (!out) return;
  for (const [name, rule] of Object.entries(MQTT_OUT_PLACEHOLDERS) as [keyof typeof MQTT_OUT_PLACEHOLDERS, (typeof MQTT_OUT_PLACEHOLDERS)[keyof typeof MQTT_OUT_PLACEHOLDERS]][]) {
    const template = out.topics[name];
    const at: ConfigPath = ['sinks', 'mqtt_out', 'topics', name];
    const named = [...template.matchAll(PLACEHOLDER)].map((m) => m[1] ?? '');
    const unknown = named.filter((n) => !(rule.allowed as readonly string[]).includes(n));
    const missing = rule.required.filter((n) => !named.includes(n));
    if (/[+#\u0000]/.test(template)) problems.add(at, 'must not contain the MQTT wildcards "+" or "#"', template);
    else if (template.startsWith('$')) problems.add(at, 'must not start with "$" (topics reserved by the broker)', template);
    else if (unknown.length > 0) problems.add(at, `names unknown placeholder(s) ${unknown.map((n) => `{${n}}`).join(', ')}; allowed: ${rule.allowed.map((n) => `{${n}}`).join(', ') || 'none'}`, template);
    else if (missing.length > 0) problems.add(at, `must contain ${missing.map((n) => `{${n}}`).join(' and ')}, so each ${name === 'alert' ? 'stream and alert kind' : 'stream'} has a topic of its own`, template);
  }
}

/**
 * Shared subscriptions are an MQTT 5 feature, and they split streams between replicas by themselves: combined
 * with `shard` (which also splits them), a stream would reach a replica that does not own it and be scored by
 * none. The shard index must resolve (a number below count, or a host name with an ordinal).
 */
function checkScaleOut(config: Config, problems: ProblemList): void {
  const shared: number[] = [];
  config.subscriptions.forEach((sub, i) => {
    const { group } = parseSharedFilter(sub.topic);
    if (group === undefined) return;
    shared.push(i);
    const at: Segment[] = ['subscriptions', i, 'topic'];
    if (group === '' || /[+#]/.test(group)) {
      problems.add(at, 'is not a valid shared subscription: write $share/<group>/<filter>, the group without "/", "+" or "#"', sub.topic);
    } else if (config.mqtt.protocol_version !== 5) {
      problems.add(at, 'is a shared subscription ($share/...), which needs MQTT 5: set mqtt.protocol_version to 5', sub.topic);
    }
  });
  const resolved = resolveShard(config.shard);
  if (!resolved.ok) problems.add(['shard', 'index'], resolved.problem, config.shard.index);
  if (shared.length > 0 && config.shard.count > 1) {
    problems.add(
      ['shard', 'count'],
      `must be 1 when subscriptions use $share (subscriptions[${shared.join('], subscriptions[')}]): the broker already splits the streams between the replicas; use one or the other`,
      config.shard.count,
    );
  }
}
