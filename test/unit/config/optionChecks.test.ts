// `validate` refuses what `run` would refuse: every RangeError an option constructor throws on a value that
// comes from the configuration has a row here with a config that sets that value. The row is checked both ways:
// the constructor, given the value through the same mapping the daemon uses, throws; loading the config (what
// `validate` and `run` share) refuses it, naming the key. The first test scans the sources for RangeError throws,
// so a new one cannot be added without a row here (or a reason it never sees a config value).
import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { alertOptions, calibrationMethod, newScoreFilter, streamWindowOptions, windowOptions } from '../../../src/app/detection';
import { loadConfigText } from '../../../src/config/load';
import type { Config } from '../../../src/config/schema';
import { AlertStateMachine } from '../../../src/core/alerting';
import { calibrate, Spot, validateMethod } from '../../../src/core/calibration';
import { Dspot } from '../../../src/core/dspot';
import { ConfigError } from '../../../src/core/errors';
import { MaintenanceCalendar } from '../../../src/core/maintenance';
import { ModeTracker } from '../../../src/core/modeTracker';
import { PooledSteps } from '../../../src/core/pooledSteps';
import { RangeNovelty } from '../../../src/core/rangeNovelty';
import { ReorderBuffer } from '../../../src/core/reorder';
import { fitScaler } from '../../../src/core/scaling';
import { shardOwnership } from '../../../src/core/shard';
import { WindowBuffer } from '../../../src/core/window';
import { BoundedQueue } from '../../../src/pipeline/boundedQueue';
import { buildAutoencoder } from '../../../src/model/autoencoder';
import { buildConvAutoencoder } from '../../../src/model/convAutoencoder';
import { trainEnsemble } from '../../../src/model/ensemble';
import { trainAutoencoder } from '../../../src/model/train';
import { ROOT } from './helpers';

const SCANNED = ['src/core', 'src/pipeline', 'src/sinks', 'src/sources', 'src/model'];

/** The configuration with every default, the base the constructor side changes one value of. */
const BASE: Config = loadConfigText('{}', 'base.yaml', {});
const W = BASE.defaults.window;
const A = BASE.defaults.alerting;
const C = BASE.defaults.calibration;
const L = C.likelihood;
const T = BASE.defaults.training;
const ONE = { id: 's', channels: ['a'] };
/** A calibrated tail for the SPOT constructors. */
const TAIL = calibrate(Array.from({ length: 2000 }, (_, i) => -Math.log(1 - (i + 0.5) / 2000)), { kind: 'pot', q: 1e-3, initialQuantile: 0.98 }).tail;
const ID = { stream: 's', model: 'm', labels: {}, nextSequence: (): number => 1 };

interface Case {
  /** A configuration that sets the value (YAML). */
  readonly yaml: string;
  /** The key `validate` must name. */
  readonly path: string;
  /** The constructor given the same value the way the daemon would; must throw (or reject with) a RangeError. */
  readonly construct: () => unknown;
}

interface Row {
  readonly file: string;
  /** Text of the `new RangeError(...)` expression that identifies it. */
  readonly match: string;
  /** Config values reaching it, or why none can. */
  readonly cases: readonly Case[] | string;
}

const window = (key: string, value: string): string => `defaults:\n  window:\n    ${key}: ${value}\n`;
const likelihood = (key: string, value: string): string => `defaults:\n  calibration:\n    likelihood:\n      enabled: true\n      ${key}: ${value}\n`;
const alerting = (key: string, value: string): string => `defaults:\n  alerting:\n    ${key}: ${value}\n`;
const calibration = (body: string): string => `defaults:\n  calibration:\n${body}`;
const training = (key: string, value: string): string => `defaults:\n  training:\n    ${key}: ${value}\n`;
/** An auto-learning subscription with these channels and window lines. */
const autoSub = (channels: string, extra = ''): string =>
  `subscriptions:\n  - topic: plant/+/t\n    template: plant/{asset}/t\n    stream: '{asset}'\n    decoder: json\n    model: auto\n    channels: ${channels}\n${extra}`;

/** defaults with architecture conv1d and these training lines (and window lines). */
const convTraining = (line: string, windowLine?: string): string =>
  `defaults:\n${windowLine ? `  window:\n    ${windowLine}\n    hop: 4\n` : ''}  training:\n    architecture: conv1d\n    ${line}\n`;
/** The conv1d network the daemon would build for a window of `steps` x `channels` with the default training but `over`. */
const conv = (steps: number, channels: number, over: { filters?: number[]; kernelSize?: number }) =>
  buildConvAutoencoder({ inputSize: steps * channels, channels, conv: { filters: over.filters ?? [...T.conv_filters], kernelSize: over.kernelSize ?? T.kernel_size }, latentUnits: T.latent_units, seed: 1 });

const machine = (over: Partial<typeof A>) => (): unknown => new AlertStateMachine(alertOptions({ ...A, ...over }, ID));
const filter = (over: Partial<typeof L>) => (): unknown => newScoreFilter({ ...C, likelihood: { ...L, enabled: true, ...over } });
const buffer = (over: Partial<typeof W>, stream = ONE) => (): unknown => new WindowBuffer(stream, windowOptions({ ...W, ...over }));
/** A stream's window buffer with the rhythm tracked on `channel`, through the daemon's mapping (streamWindowOptions). */
const rhythmBuffer = (channel: string) => (): unknown =>
  new WindowBuffer(ONE, streamWindowOptions({ ...BASE.defaults, training: { ...T, rhythm: { ...T.rhythm, enabled: true, channel } } }, ONE.channels));
const method = (over: Partial<typeof C>) => (): unknown => validateMethod(calibrationMethod({ ...C, ...over }));

const NOT_CONFIG_DATA = 'checks data (scores, values, windows, artifacts), not an option';

/** A one-off maintenance window from the API's or the config's times, into a calendar as the daemon does. */
const maintenanceWindow = (start: string, end: string) => (): unknown =>
  new MaintenanceCalendar().set({ id: 'w', reason: 'r', selector: {}, origin: 'config', createdBy: 'config', start: Date.parse(start), end: Date.parse(end) });
const oneOff = (start: string, end: string): string => `maintenance:\n  - { id: w, reason: r, start: "${start}", end: "${end}" }\n`;

const ROWS: readonly Row[] = [
  {
    file: 'src/core/maintenance.ts',
    match: "maintenance window '${w.id}'",
    cases: [
      { yaml: oneOff('2026-12-10T07:00:00Z', '2026-12-10T06:00:00Z'), path: 'maintenance[0].end', construct: maintenanceWindow('2026-12-10T07:00:00Z', '2026-12-10T06:00:00Z') },
      { yaml: oneOff('2026-12-10T07:00:00Z', '2026-12-10T07:00:00Z'), path: 'maintenance[0].end', construct: maintenanceWindow('2026-12-10T07:00:00Z', '2026-12-10T07:00:00Z') },
    ],
  },
  {
    file: 'src/core/window.ts',
    match: 'window options for stream',
    cases: [
      { yaml: window('max_gap_ms', '0'), path: 'defaults.window.max_gap_ms', construct: buffer({ max_gap_ms: 0 }) },
      { yaml: window('size', '0'), path: 'defaults.window.size', construct: buffer({ size: 0 }) },
      { yaml: window('hop', '0'), path: 'defaults.window.hop', construct: buffer({ hop: 0 }) },
      { yaml: window('min_completeness', '1.5'), path: 'defaults.window.min_completeness', construct: buffer({ min_completeness: 1.5 }) },
      { yaml: window('sample_period_ms', '0'), path: 'defaults.window.sample_period_ms', construct: buffer({ sample_period_ms: 0 }) },
      { yaml: window('max_gap_steps', '0'), path: 'defaults.window.max_gap_steps', construct: buffer({ max_gap_steps: 0 }) },
      { yaml: window('max_gap_steps', '2.5'), path: 'defaults.window.max_gap_steps', construct: buffer({ max_gap_steps: 2.5 }) },
      { yaml: autoSub('[]'), path: 'subscriptions[0].channels', construct: buffer({}, { id: 's', channels: [] }) },
      // The rhythm's channel: unset while enabled, or not one of the stream's (the tracker's index is then -1).
      { yaml: 'defaults:\n  training:\n    rhythm: { enabled: true }\n', path: 'defaults.training.rhythm.channel', construct: rhythmBuffer('') },
      {
        yaml: autoSub('[a]', '    training:\n      rhythm: { enabled: true, channel: zz }\n'),
        path: 'subscriptions[0].training.rhythm.channel',
        construct: rhythmBuffer('zz'),
      },
    ],
  },
  {
    file: 'src/core/modeTracker.ts',
    match: 'hold must be an integer',
    cases: [
      {
        yaml: 'subscriptions:\n  - topic: t/+\n    template: t/{a}\n    stream: "{a}"\n    decoder: json\n    channels: [x]\n    modes:\n      when: { off: "x < 1" }\n      default: on\n      hold_samples: 0\n',
        path: 'subscriptions[0].modes.hold_samples',
        construct: () => new ModeTracker(0),
      },
    ],
  },
  { file: 'src/core/window.ts', match: 'window snapshot of stream', cases: 'a saved window (state.json) that no longer fits: the pipeline logs it and starts a new window' },
  {
    file: 'src/core/window.ts',
    match: 'rhythm options for stream',
    cases: "the rhythm of a loaded model's manifest (checked when it loads, its channels against the stream's by validate): the pipeline logs it and tracks none",
  },
  { file: 'src/core/window.ts', match: 'windowsFromSeries', cases: NOT_CONFIG_DATA },
  {
    file: 'src/core/anomalyLikelihood.ts',
    match: 'must be an integer >= ${min}',
    cases: [
      { yaml: likelihood('average_windows', '0'), path: 'defaults.calibration.likelihood.average_windows', construct: filter({ average_windows: 0 }) },
      { yaml: likelihood('history_windows', '1'), path: 'defaults.calibration.likelihood.history_windows', construct: filter({ history_windows: 1, learning_windows: 1 }) },
      { yaml: likelihood('learning_windows', '1'), path: 'defaults.calibration.likelihood.learning_windows', construct: filter({ learning_windows: 1 }) },
      { yaml: likelihood('suppress_windows', '-1'), path: 'defaults.calibration.likelihood.suppress_windows', construct: filter({ suppress_windows: -1 }) },
      { yaml: likelihood('average_windows', '1.5'), path: 'defaults.calibration.likelihood.average_windows', construct: filter({ average_windows: 1.5 }) },
    ],
  },
  {
    file: 'src/core/anomalyLikelihood.ts',
    match: 'must not exceed historyWindows',
    cases: [{ yaml: likelihood('learning_windows', '501'), path: 'defaults.calibration.likelihood.learning_windows', construct: filter({ learning_windows: L.history_windows + 1 }) }],
  },
  {
    file: 'src/core/anomalyLikelihood.ts',
    match: 'threshold must be in (0, 1]',
    cases: [
      { yaml: likelihood('threshold', '0'), path: 'defaults.calibration.likelihood.threshold', construct: filter({ threshold: 0 }) },
      { yaml: likelihood('threshold', '1.5'), path: 'defaults.calibration.likelihood.threshold', construct: filter({ threshold: 1.5 }) },
    ],
  },
  {
    file: 'src/core/anomalyLikelihood.ts',
    match: 'rangeTolerance must be',
    cases: [{ yaml: likelihood('range_tolerance', '-1'), path: 'defaults.calibration.likelihood.range_tolerance', construct: filter({ range_tolerance: -1 }) }],
  },
  {
    file: 'src/core/rangeNovelty.ts',
    match: 'tolerance must be a finite number',
    cases: [{ yaml: likelihood('range_tolerance', '-0.5'), path: 'defaults.calibration.likelihood.range_tolerance', construct: () => new RangeNovelty(-0.5, 1) }],
  },
  {
    file: 'src/core/rangeNovelty.ts',
    match: 'channels must be an integer',
    cases: [{ yaml: autoSub('[]'), path: 'subscriptions[0].channels', construct: () => new RangeNovelty(0.05, 0) }],
  },
  { file: 'src/core/rangeNovelty.ts', match: 'values are not', cases: NOT_CONFIG_DATA },
  {
    file: 'src/core/alerting.ts',
    match: 'insufficientWindows must be',
    cases: [{ yaml: alerting('insufficient_windows', '0'), path: 'defaults.alerting.insufficient_windows', construct: machine({ insufficient_windows: 0 }) }],
  },
  {
    file: 'src/core/alerting.ts',
    match: 'flapMaxStarts must be',
    cases: [{ yaml: alerting('flap_max_starts', '-1'), path: 'defaults.alerting.flap_max_starts', construct: machine({ flap_max_starts: -1 }) }],
  },
  {
    file: 'src/core/debounce.ts',
    match: 'KOfN: n must be',
    cases: [{ yaml: alerting('n', '0'), path: 'defaults.alerting.n', construct: machine({ n: 0, k: 1 }) }],
  },
  {
    file: 'src/core/debounce.ts',
    match: 'KOfN: k must be',
    cases: [
      { yaml: alerting('k', '6'), path: 'defaults.alerting.k', construct: machine({ k: A.n + 1 }) },
      { yaml: alerting('k', '0'), path: 'defaults.alerting.k', construct: machine({ k: 0 }) },
    ],
  },
  {
    file: 'src/core/alertEpisode.ts',
    match: 'resetRatio must be',
    cases: [
      { yaml: alerting('reset_ratio', '0'), path: 'defaults.alerting.reset_ratio', construct: machine({ reset_ratio: 0 }) },
      { yaml: alerting('reset_ratio', '1.1'), path: 'defaults.alerting.reset_ratio', construct: machine({ reset_ratio: 1.1 }) },
    ],
  },
  {
    file: 'src/core/alertEpisode.ts',
    match: 'resetWindows must be',
    cases: [{ yaml: alerting('reset_windows', '0'), path: 'defaults.alerting.reset_windows', construct: machine({ reset_windows: 0 }) }],
  },
  {
    file: 'src/core/alertEpisode.ts',
    match: 'keepFiringForMs must be',
    cases: [{ yaml: alerting('keep_firing_for_ms', '-1'), path: 'defaults.alerting.keep_firing_for_ms', construct: machine({ keep_firing_for_ms: -1 }) }],
  },
  {
    file: 'src/core/reorder.ts',
    match: 'maxLatenessMs must be',
    cases: [{ yaml: window('max_lateness_ms', '-1'), path: 'defaults.window.max_lateness_ms', construct: () => new ReorderBuffer(-1) }],
  },
  {
    file: 'src/core/calibration.ts',
    match: "calibration method '${String(method.kind)}'",
    cases: [
      { yaml: calibration('    method: percentile\n    percentile: 100\n'), path: 'defaults.calibration.percentile', construct: method({ method: 'percentile', percentile: 100 }) },
      { yaml: calibration('    method: sigma\n    sigma_k: -1\n'), path: 'defaults.calibration.sigma_k', construct: method({ method: 'sigma', sigma_k: -1 }) },
      { yaml: calibration('    pot:\n      q: 0\n'), path: 'defaults.calibration.pot.q', construct: method({ method: 'pot', pot: { ...C.pot, q: 0 } }) },
      { yaml: calibration('    pot:\n      initial_quantile: 1\n'), path: 'defaults.calibration.pot.initial_quantile', construct: method({ method: 'pot', pot: { ...C.pot, initial_quantile: 1 } }) },
      { yaml: calibration('    pot:\n      q: 0.3\n      initial_quantile: 0.8\n'), path: 'defaults.calibration.pot.q', construct: method({ method: 'pot', pot: { q: 0.3, initial_quantile: 0.8 } }) },
      { yaml: calibration('    method: robust\n    robust:\n      quantile: 0.6\n'), path: 'defaults.calibration.robust.quantile', construct: method({ method: 'robust', robust: { ...C.robust, quantile: 0.6 } }) },
      { yaml: calibration('    method: robust\n    robust:\n      factor: 0.5\n'), path: 'defaults.calibration.robust.factor', construct: method({ method: 'robust', robust: { ...C.robust, factor: 0.5 } }) },
      { yaml: calibration('    method: spot\n    spot:\n      q: 0\n'), path: 'defaults.calibration.spot.q', construct: method({ method: 'spot', spot: { ...C.spot, q: 0 } }) },
      { yaml: calibration('    spot:\n      initial_quantile: 1\n'), path: 'defaults.calibration.spot.initial_quantile', construct: method({ method: 'spot', spot: { ...C.spot, initial_quantile: 1 } }) },
      { yaml: calibration('    spot:\n      q: 0.3\n      initial_quantile: 0.8\n'), path: 'defaults.calibration.spot.q', construct: method({ method: 'spot', spot: { ...C.spot, q: 0.3, initial_quantile: 0.8 } }) },
      { yaml: calibration('    spot:\n      depth: 1.5\n'), path: 'defaults.calibration.spot.depth', construct: method({ method: 'spot', spot: { ...C.spot, depth: 1.5 } }) },
      { yaml: calibration('    spot:\n      max_excesses: 9\n'), path: 'defaults.calibration.spot.max_excesses', construct: method({ method: 'spot', spot: { ...C.spot, max_excesses: 9 } }) },
    ],
  },
  {
    file: 'src/core/spot.ts',
    match: 'maxExcesses must be',
    cases: [{ yaml: calibration('    spot:\n      max_excesses: 9\n'), path: 'defaults.calibration.spot.max_excesses', construct: () => new Spot(TAIL, { q: C.spot.q, maxExcesses: 9 }) }],
  },
  {
    file: 'src/core/dspot.ts',
    match: 'Dspot: depth',
    cases: [{ yaml: calibration('    spot:\n      depth: -1\n'), path: 'defaults.calibration.spot.depth', construct: () => Dspot.fromTail(TAIL, { q: C.spot.q, depth: -1 }) }],
  },
  { file: 'src/core/dspot.ts', match: '', cases: NOT_CONFIG_DATA },
  {
    file: 'src/core/spotFilter.ts',
    match: 'SpotFilter: q',
    cases: [{ yaml: calibration('    method: spot\n    spot:\n      q: 0\n'), path: 'defaults.calibration.spot.q', construct: () => newScoreFilter({ ...C, method: 'spot', spot: { ...C.spot, q: 0 } }, () => null) }],
  },
  {
    file: 'src/core/spotFilter.ts',
    match: 'SpotFilter: depth',
    cases: [{ yaml: calibration('    method: spot\n    spot:\n      depth: -1\n'), path: 'defaults.calibration.spot.depth', construct: () => newScoreFilter({ ...C, method: 'spot', spot: { ...C.spot, depth: -1 } }, () => null) }],
  },
  { file: 'src/core/anomalyLikelihood.ts', match: "the saved state is a SPOT filter's", cases: 'checks a saved filter state, not an option' },
  { file: 'src/core/spotFilter.ts', match: '', cases: 'checks a saved filter state against the model calibration, not an option' },
  { file: 'src/core/calibration.ts', match: 'calibrate:', cases: NOT_CONFIG_DATA },
  {
    file: 'src/core/pooledSteps.ts',
    match: 'pooled steps: ${name} must be',
    cases: [
      { yaml: likelihood('coarse_pool', '-1'), path: 'defaults.calibration.likelihood.coarse_pool', construct: () => new PooledSteps(-1, W.size, 1) },
      { yaml: window('size', '0'), path: 'defaults.window.size', construct: () => new PooledSteps(8, 0, 1) },
      { yaml: autoSub('[]'), path: 'subscriptions[0].channels', construct: () => new PooledSteps(8, W.size, 0) },
    ],
  },
  { file: 'src/core/pooledSteps.ts', match: 'pooled steps: ${to - from}', cases: NOT_CONFIG_DATA },
  { file: 'src/core/pooledSteps.ts', match: 'pooled windows:', cases: NOT_CONFIG_DATA },
  {
    file: 'src/core/shard.ts',
    match: 'shard count must be',
    cases: [{ yaml: 'shard:\n  count: 0\n', path: 'shard.count', construct: () => shardOwnership({ count: 0, index: 0 }) }],
  },
  {
    file: 'src/core/shard.ts',
    match: 'shard index must be',
    cases: [{ yaml: 'shard:\n  count: 2\n  index: 2\n', path: 'shard.index', construct: () => shardOwnership({ count: 2, index: 2 }) }],
  },
  {
    file: 'src/core/scaling.ts',
    match: 'fitScaler: channels must be',
    cases: [{ yaml: autoSub('[]'), path: 'subscriptions[0].channels', construct: () => fitScaler([1, 2], 0, T.scale_margin) }],
  },
  {
    file: 'src/core/scaling.ts',
    match: 'fitScaler: margin must be',
    cases: [{ yaml: training('scale_margin', '-0.1'), path: 'defaults.training.scale_margin', construct: () => fitScaler([1, 2], 1, -0.1) }],
  },
  { file: 'src/core/scaling.ts', match: 'fitScaler: need a non-empty', cases: NOT_CONFIG_DATA },
  { file: 'src/core/scaling.ts', match: 'fitScaler: channel ${c} has no finite', cases: NOT_CONFIG_DATA },
  { file: 'src/core/scaling.ts', match: "'scaler: min and max", cases: NOT_CONFIG_DATA },
  { file: 'src/core/scaling.ts', match: 'scaler: expected', cases: NOT_CONFIG_DATA },
  { file: 'src/core/scaling.ts', match: 'scaler: channel ${c} needs', cases: NOT_CONFIG_DATA },
  { file: 'src/core/scaling.ts', match: 'scaler has', cases: NOT_CONFIG_DATA },
  { file: 'src/core/scaling.ts', match: 'is not a multiple of', cases: NOT_CONFIG_DATA },
  { file: 'src/core/scaling.ts', match: 'output holds', cases: NOT_CONFIG_DATA },
  {
    file: 'src/pipeline/boundedQueue.ts',
    match: 'Queue capacity must be',
    cases: [{ yaml: 'queues:\n  capacity: 0\n', path: 'queues.capacity', construct: () => new BoundedQueue(0, 'drop') }],
  },
  {
    file: 'src/model/ensemble.ts',
    match: 'ensemble: size must be',
    cases: [{ yaml: training('ensemble', '0'), path: 'defaults.training.ensemble', construct: () => trainEnsemble([], {} as never, 0) }],
  },
  { file: 'src/model/ensemble.ts', match: 'ensemble: needs at least one member', cases: 'members come from trainEnsemble, which refuses size < 1 (row above)' },
  {
    file: 'src/model/autoencoder.ts',
    match: 'Layer sizes must be positive integers',
    cases: [
      { yaml: training('encoder_units', '[0]'), path: 'defaults.training.encoder_units[0]', construct: () => buildAutoencoder({ inputSize: W.size, encoderUnits: [0], latentUnits: 1, seed: 1 }) },
      { yaml: training('latent_units', '0'), path: 'defaults.training.latent_units', construct: () => buildAutoencoder({ inputSize: W.size, encoderUnits: [...T.encoder_units], latentUnits: 0, seed: 1 }) },
    ],
  },
  {
    file: 'src/model/autoencoder.ts',
    match: 'The bottleneck (${opts.latentUnits})',
    cases: [
      {
        yaml: autoSub('[a]', '    window:\n      size: 8\n      hop: 4\n'),
        path: 'subscriptions[0].window.size',
        construct: () => buildAutoencoder({ inputSize: 8, encoderUnits: [...T.encoder_units], latentUnits: T.latent_units, seed: 1 }),
      },
      {
        yaml: `${window('size', '8')}    hop: 4\n${autoSub('[a, b]')}`,
        path: 'subscriptions[0].channels',
        construct: () => buildAutoencoder({ inputSize: 16, encoderUnits: [...T.encoder_units], latentUnits: T.latent_units, seed: 1 }),
      },
    ],
  },
  {
    file: 'src/model/convAutoencoder.ts',
    match: 'Input size, channels, latent units, kernel size and filters must be positive integers',
    cases: [
      { yaml: training('conv_filters', '[0]'), path: 'defaults.training.conv_filters[0]', construct: () => conv(W.size, 1, { filters: [0] }) },
      { yaml: training('kernel_size', '0'), path: 'defaults.training.kernel_size', construct: () => conv(W.size, 1, { kernelSize: 0 }) },
    ],
  },
  { file: 'src/model/convAutoencoder.ts', match: 'is not a whole number of steps', cases: 'the input size is window size x channels by construction (fitDetector.ts)' },
  {
    file: 'src/model/convAutoencoder.ts',
    match: 'Convolutional autoencoder: ${problem}',
    cases: [
      { yaml: convTraining('kernel_size: 65'), path: 'defaults.training.kernel_size', construct: () => conv(W.size, 1, { kernelSize: 65 }) },
      { yaml: convTraining('conv_filters: [4, 4, 4, 4, 4, 4]', 'size: 32'), path: 'defaults.training.conv_filters', construct: () => conv(32, 1, { filters: [4, 4, 4, 4, 4, 4] }) },
      { yaml: `${convTraining('conv_filters: [4, 4, 4]')}${autoSub('[a]', '    window:\n      size: 6\n      hop: 3\n')}`, path: 'subscriptions[0].window.size', construct: () => conv(6, 1, { filters: [4, 4, 4] }) },
    ],
  },
  {
    file: 'src/model/convAutoencoder.ts',
    match: 'The bottleneck (${opts.latentUnits})',
    cases: [
      {
        yaml: `${convTraining('kernel_size: 3')}${autoSub('[a]', '    window:\n      size: 8\n      hop: 4\n')}`,
        path: 'subscriptions[0].window.size',
        construct: () => conv(8, 1, { kernelSize: 3 }),
      },
    ],
  },
  { file: 'src/model/network.ts', match: 'needs its convolution layers', cases: 'detectorSpec (app/detection.ts) always passes conv_filters and kernel_size' },
  {
    file: 'src/model/train.ts',
    match: 'trimFraction must be',
    cases: [{ yaml: training('trim_fraction', '1'), path: 'defaults.training.trim_fraction', construct: () => trainAutoencoder({} as never, {} as never, { trimFraction: 1 } as never) }],
  },
  {
    file: 'src/model/train.ts',
    match: 'trimFence must be',
    cases: [{ yaml: training('trim_fence', '-1'), path: 'defaults.training.trim_fence', construct: () => trainAutoencoder({} as never, {} as never, { trimFence: -1 } as never) }],
  },
  { file: 'src/core/stats.ts', match: '', cases: NOT_CONFIG_DATA },
  { file: 'src/core/tail.ts', match: '', cases: 'checks a tail model read from a model artifact (models are checked when they load)' },
  { file: 'src/core/spot.ts', match: '', cases: 'Spot is built from a calibrated tail and a q checked by validateMethod; no config value reaches it directly' },
  { file: 'src/core/windowTransform.ts', match: '', cases: NOT_CONFIG_DATA },
  { file: 'src/core/channelReading.ts', match: '', cases: NOT_CONFIG_DATA },
  { file: 'src/core/expectation.ts', match: '', cases: NOT_CONFIG_DATA },
  { file: 'src/core/alertSequence.ts', match: '', cases: 'a sequence number read from the state file' },
  { file: 'src/core/alertHistory.ts', match: '', cases: 'the status page keeps a fixed number of episodes; no config value sets it' },
  { file: 'src/sources/csv.ts', match: 'formatCsv', cases: NOT_CONFIG_DATA },
  { file: 'src/model/detector.ts', match: '', cases: NOT_CONFIG_DATA },
  { file: 'src/model/tfjsEngine.ts', match: '', cases: NOT_CONFIG_DATA },
  { file: 'src/model/scorer.ts', match: '', cases: NOT_CONFIG_DATA },
  { file: 'src/model/fitDetector.ts', match: 'No complete windows', cases: NOT_CONFIG_DATA },
];

/** Every `new RangeError(` in the scanned folders, as its file and the text of the expression. */
function rangeErrorSites(): { file: string; text: string }[] {
  const out: { file: string; text: string }[] = [];
  const walk = (dir: string): void => {
    for (const entry of fs.readdirSync(path.join(ROOT, dir), { withFileTypes: true })) {
      const rel = `${dir}/${entry.name}`;
      if (entry.isDirectory()) walk(rel);
      else if (entry.name.endsWith('.ts')) {
        const source = fs.readFileSync(path.join(ROOT, rel), 'utf8');
        for (const m of source.matchAll(/new RangeError\(/g)) {
          // To the end of the statement, so the text of the next throw is not taken for this one's.
          const end = source.indexOf(');', m.index);
          out.push({ file: rel, text: source.slice(m.index, end < 0 ? undefined : end) });
        }
      }
    }
  };
  for (const dir of SCANNED) walk(dir);
  return out;
}

/** Rows with a match are tried first, so a file's catch-all row ('') takes only what the others do not. */
function rowOf(site: { file: string; text: string }): Row | undefined {
  const own = ROWS.filter((r) => r.file === site.file);
  return own.find((r) => r.match !== '' && site.text.includes(r.match)) ?? own.find((r) => r.match === '');
}

test('every RangeError in the option-taking modules has a row: config cases, or why no config value reaches it', () => {
  const sites = rangeErrorSites();
  assert.ok(sites.length > 40, `the scan found the throws (${sites.length})`);
  const unlisted = sites.filter((s) => rowOf(s) === undefined).map((s) => `${s.file}: ${s.text.split('\n')[0]}`);
  assert.deepEqual(unlisted, [], 'add a row for each (config cases that validate refuses, or the reason none applies)');
  const used = new Set(sites.map(rowOf));
  const stale = ROWS.filter((r) => !used.has(r)).map((r) => `${r.file}: ${r.match}`);
  assert.deepEqual(stale, [], 'rows that match no throw any more');
});

for (const row of ROWS) {
  if (typeof row.cases === 'string') continue;
  for (const c of row.cases) {
    test(`${row.file} '${row.match}': ${c.path} is refused by validate and by the constructor`, async () => {
      // Some constructors are async (training): a synchronous throw becomes a rejection here too.
      await assert.rejects(() => Promise.resolve().then(c.construct), RangeError, 'the constructor refuses the value');
      let problems: readonly string[] = [];
      try {
        loadConfigText(c.yaml, 'case.yaml', {});
      } catch (err) {
        assert.ok(err instanceof ConfigError, String(err));
        problems = err.problems;
      }
      assert.ok(
        problems.some((p) => p.startsWith(`${c.path}: `) && p.includes('(got ')),
        `config loading names ${c.path} as "path: message (got value)"; it said: ${JSON.stringify(problems)}`,
      );
    });
  }
}
