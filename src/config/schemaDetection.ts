// Detection settings: how windows are cut, how the autoencoder is trained, how its threshold is calibrated and
// when anomalous windows become alerts. `defaults` holds one full set; subscriptions and streams override parts.
import { Type } from '@sinclair/typebox';
import { oneOf, profileOf, section } from './schemaHelpers';

export const windowSchema = section(
  {
    size: Type.Integer({ minimum: 2, maximum: 100_000, default: 64, description: "Samples per window (the autoencoder input length per channel). A stream of a trained model uses the model's (its manifest.json); a different value written here, in `defaults` or an override that applies to it, is refused." }),
    hop: Type.Integer({ minimum: 1, maximum: 100_000, default: 16, description: "Samples between the starts of consecutive windows; must not exceed `size`. Unwritten, a stream of a trained model uses the model's; a written one sets how often its windows are scored." }),
    max_gap_ms: Type.Integer({
      minimum: 1,
      default: 10_000,
      description: "A pause between samples longer than this (milliseconds) restarts the window instead of bridging the gap. Unwritten, a stream of a trained model uses the model's value.",
    }),
    min_completeness: Type.Number({
      exclusiveMinimum: 0,
      maximum: 1,
      default: 0.9,
      description: "Fraction of the expected samples a window must hold to be scored; emptier windows are counted as insufficient. Unwritten, a stream of a trained model uses the model's value.",
    }),
    max_lateness_ms: Type.Integer({
      minimum: 0,
      maximum: 3_600_000,
      default: 0,
      description:
        'Samples may arrive this late (milliseconds behind the newest one) and out of order: they are held and released in time order, duplicates dropped, so windows come out the same. Adds this much delay to every alert; 0 = no reordering (late samples are dropped and counted).',
    }),
    max_gap_steps: Type.Optional(
      Type.Integer({
        minimum: 1,
        maximum: 1_000_000,
        description:
          'Most missing samples one pause is filled with (pause / sample_period_ms - 1 steps without values, which count against min_completeness); a pause needing more restarts the window like one longer than max_gap_ms. Unset: 10000. Bounds the work one sample after a long pause can cause when the sample period is short.',
      }),
    ),
    sample_period_ms: Type.Optional(
      Type.Number({
        exclusiveMinimum: 0,
        description: "Expected time between samples (milliseconds). Unset: the trained model's, else derived from `sample_rate_hz` or from the timestamps of the data. A stream of a trained model that records one is refused a different value.",
      }),
    ),
  },
  'Sliding-window segmentation of each stream.',
);

export const noiseSchema = section(
  {
    gaussian_sigma: Type.Number({ minimum: 0, maximum: 1, default: 0.05, description: 'Standard deviation of Gaussian noise added to the scaled training input.' }),
    mask_fraction: Type.Number({ minimum: 0, exclusiveMaximum: 1, default: 0.1, description: 'Fraction of input values set to zero (masking noise).' }),
    salt_pepper_fraction: Type.Number({ minimum: 0, exclusiveMaximum: 1, default: 0, description: 'Fraction of input values set to 0 or 1 at random (salt-and-pepper noise).' }),
  },
  'Corruption applied to training inputs; the autoencoder learns to reconstruct the clean window.',
);

export const rhythmSchema = section(
  {
    enabled: Type.Boolean({
      default: false,
      description:
        "Join the stream's rhythm to its score: events (a heartbeat, a machine cycle or rotation start) are found on `channel` as they arrive, and each window's score is multiplied by prematurity^-exponent, where prematurity = the latest interval between events / the median of the history_events before it, read at the window's end. A premature event (an ectopic beat, a cycle cut short) raises the score, a late one lowers it (see late); the threshold is calibrated on the joined learning scores. The settings are recorded in the model's manifest.json and a stream of a trained model uses the model's (docs/design.md, Rhythm).",
    }),
    channel: Type.String({ default: '', description: "Channel the events are found on; one of the stream's channels, required when enabled." }),
    slope_samples: Type.Integer({ minimum: 1, maximum: 10_000, default: 4, description: 'The slope is the change over this many samples; its square is the event envelope before smoothing.' }),
    smoothing_samples: Type.Integer({ minimum: 1, maximum: 100_000, default: 36, description: 'Samples the squared slope is averaged over (36 = 100 ms at 360 Hz); about the duration of one event.' }),
    threshold_fraction: Type.Number({ exclusiveMinimum: 0, exclusiveMaximum: 1, default: 0.2, description: 'An event starts where the smoothed envelope rises through this fraction of its running peak.' }),
    peak_half_life_ms: Type.Number({ exclusiveMinimum: 0, maximum: 86_400_000, default: 1500, description: 'The running peak halves in this time (milliseconds), so the detector follows a signal that weakens.' }),
    refractory_ms: Type.Number({ minimum: 0, maximum: 86_400_000, default: 300, description: 'No second event within this time after one (milliseconds): the tail of an event (a T wave, a ringing edge) is not an event. Below the shortest real interval.' }),
    history_events: Type.Integer({ minimum: 4, maximum: 10_000, default: 32, description: "Intervals whose median is the stream's recent rhythm; until 4 are known, windows score as they are." }),
    exponent: Type.Number({ minimum: 0, maximum: 10, default: 3, description: 'The score is multiplied by prematurity^-exponent: an event at 0.7 of the usual interval multiplies it by 2.9 with 3.' }),
    late: oneOf(
      ['lower', 'ignore'] as const,
      'A late event (prematurity > 1): lower = the score is lowered by the same law (the normal beat after a compensatory pause, whose window still holds the premature one, scores less); ignore = factor 1.',
      'lower',
    ),
  },
  "The stream's rhythm joined to its score (off by default).",
);

export const trainingSchema = section(
  {
    architecture: oneOf(
      ['dense', 'conv1d'] as const,
      "The autoencoder's form. dense: fully connected layers (encoder_units, latent_units). conv1d: 1-D convolutions over the window's time axis with the channels as input channels (conv_filters, kernel_size, each halving the steps), a dense bottleneck of latent_units, a mirrored decoder (upsampling and convolutions); it sees local shapes wherever they occur in the window. The native addon computes both forms where it is the selected backend (tfjs wasm otherwise); conv1d does several times the arithmetic of a dense model of the same window and scores and trains correspondingly slower (docs/benchmarks.md).",
      'dense',
    ),
    conv_filters: Type.Array(Type.Integer({ minimum: 1, maximum: 1024, description: 'Filters of one convolution layer.' }), {
      minItems: 1,
      maxItems: 6,
      default: [32, 16],
      description: 'architecture conv1d: filters of the encoder convolutions, outermost first; each has stride 2 (halves the steps, rounding up) and the decoder mirrors them. The window needs at least 2^layers samples.',
    }),
    kernel_size: Type.Integer({ minimum: 1, maximum: 255, default: 7, description: 'architecture conv1d: taps of every convolution along the time axis; at most the window size.' }),
    encoder_units: Type.Array(Type.Integer({ minimum: 1, maximum: 8192, description: 'Units of one dense encoder layer.' }), {
      minItems: 0,
      maxItems: 8,
      default: [128, 64],
      description: 'Units of the dense encoder layers, outermost first; the decoder mirrors them. [] = the shallow form: one layer each side (input -> bottleneck -> output). Not used by architecture conv1d.',
    }),
    latent_units: Type.Integer({ minimum: 1, maximum: 4096, default: 16, description: 'Units of the bottleneck layer; at most the last encoder layer (dense), below window size x channels (both forms).' }),
    loss: oneOf(['bce', 'mse'] as const, 'Reconstruction loss: binary cross-entropy on [0,1]-scaled data, or mean squared error.', 'bce'),
    score_aggregate: oneOf(
      ['mean', 'max_channel'] as const,
      'Window score from the per-value errors: mean over all values, or max_channel = the largest per-channel mean, so a fault in one sensor of many is not diluted by the healthy channels (the same for one channel).',
      'max_channel',
    ),
    score_metric: oneOf(
      ['mse', 'mae', 'bce'] as const,
      'Per-value reconstruction error averaged into the window score: squared, absolute, or binary cross-entropy against the scaled input.',
      'mse',
    ),
    epochs: Type.Integer({ minimum: 1, maximum: 100_000, default: 50, description: 'Maximum training epochs.' }),
    batch_size: Type.Integer({ minimum: 1, maximum: 65_536, default: 64, description: 'Windows per training batch.' }),
    learning_rate: Type.Number({ exclusiveMinimum: 0, maximum: 1, default: 0.001, description: 'Adam learning rate.' }),
    validation_fraction: Type.Number({
      minimum: 0,
      maximum: 0.5,
      default: 0.1,
      description: 'Fraction of training windows held out (the most recent ones) for early stopping and calibration.',
    }),
    patience: Type.Integer({ minimum: 0, maximum: 10_000, default: 5, description: 'Early stopping: epochs without validation improvement before training stops; 0 disables early stopping.' }),
    auto_learn_windows: Type.Integer({
      minimum: 10,
      maximum: 1_000_000,
      default: 500,
      description: 'Streams whose model is "auto" and that have none yet learn one from their first this many complete windows (trained in a worker thread), then are scored.',
    }),
    seed: Type.Integer({ minimum: 0, maximum: 2_147_483_647, default: 42, description: 'Seed for weight initialisation, shuffling and noise, so training is reproducible.' }),
    trim_fraction: Type.Number({
      minimum: 0,
      maximum: 0.5,
      default: 0,
      description:
        'Trimmed training with a fixed share: after a first fit, this fraction of the learning windows, those the model reconstructs worst, is dropped and the model is fitted again from its initial weights on the rest. 0 = the share is not fixed (trim_fence decides); doubles the training time.',
    }),
    trim_fence: Type.Number({
      minimum: 0,
      maximum: 10,
      default: 3,
      description:
        'Trimmed training where the data says so (used when trim_fraction is 0): after a first fit, the learning windows whose error lies beyond the Tukey fence exp(Q3 + k * IQR) of the log errors (k = this value) are dropped and the model is fitted again on the rest, so a fault or ectopic beats in the learning period are not learnt as normal. Clean learning data puts nothing beyond k = 3 and costs one fit; 0 = off.',
    }),
    ensemble: Type.Integer({
      minimum: 1,
      maximum: 16,
      default: 1,
      description:
        'Autoencoders trained per model from seeds seed, seed+1, ...; a window scores the mean of their errors and the threshold is calibrated on that mean. With a few hundred learning windows one network depends on its seed; the mean of a few is steadier. Costs that many times the training and scoring time. Used by `evaluate` and by auto-learning (the other members are saved in members/ of the learned model); `anomalyd train` trains one network.',
    }),
    scale_margin: Type.Number({
      minimum: 0,
      maximum: 1,
      default: 0.05,
      description: 'Min-max scaling headroom: the training range is widened by this fraction on each side before mapping to [0,1].',
    }),
    out_of_range: oneOf(
      ['clip', 'keep'] as const,
      "Values outside the learnt range (the training data's min and max widened by scale_margin) when a window is scored: clip = held at the range's edge, so a level far outside reads like one at the edge and a channel that settles there scores no higher than normal noise; keep = passed to the model as they are (scaled, unclipped), so the reconstruction error grows with the distance outside the range. keep needs score_metric mse or mae.",
      'clip',
    ),
    score_steps: Type.Integer({
      minimum: 0,
      maximum: 100_000,
      default: 0,
      description:
        "Only the newest this many samples of each window count toward its score and channel shares; the model still reads the whole window. A whole-window score stays high until a change has left the window, so alerts end about a window length after it; scoring the newest part lets them start and end with the samples that cause them. 0 = the whole window; at most window.size.",
    }),
    input_transform: oneOf(
      ['none', 'demean', 'diff', 'auto'] as const,
      'Applied to each raw window before scaling: none; demean = each channel minus its window mean (the model learns shapes, so a drifting level does not read as an anomaly); diff = first differences (removes level and trend, a step becomes a spike); auto = chosen per channel when the model learns: demean for a channel whose level already wanders in the learning data (its window means spread more than its noise within a window), none for a channel with a steady level, so a lasting level shift there is still an anomaly.',
      'none',
    ),
    level_tolerance: Type.Optional(
      Type.Number({
        minimum: 0,
        maximum: 1_000,
        description:
          "Demeaned channels (input_transform demean, or auto's choice) keep a level far outside what they learnt: the window mean a channel subtracts is held within the range its learning windows' means took, widened on each side by this many times that range's width, and the part beyond stays in the window and scores. A drift like the learnt one (a temperature creeping up) stays invisible; a level many times further off (a vibration tripling and staying there) scores for as long as it lasts instead of only while the step is inside the window. Unset: the whole mean is subtracted (plain demean).",
      }),
    ),
    noise: noiseSchema,
    rhythm: rhythmSchema,
  },
  'Denoising-autoencoder architecture and training.',
);

/** The tail fit's settings, shared by pot and spot (`fitted` says what happens to the fit afterwards). */
function tailFields(risk: string, fitted: string) {
  return {
    q: Type.Number({ exclusiveMinimum: 0, exclusiveMaximum: 0.5, default: 0.0001, description: `Target probability that a normal window exceeds the threshold (risk per window)${risk}.` }),
    initial_quantile: Type.Number({
      exclusiveMinimum: 0.5,
      exclusiveMaximum: 1,
      default: 0.98,
      description: `Quantile of the calibration scores above which the generalised Pareto tail is fitted${fitted}; \`q\` must be below 1 - initial_quantile.`,
    }),
  };
}

export const potSchema = section(tailFields('', ''), 'Peaks-over-threshold (extreme value theory) calibration.');

export const spotSchema = section(
  {
    ...tailFields(', as the threshold moves', ' (and refitted as the stream runs)'),
    depth: Type.Integer({
      minimum: 0,
      maximum: 100_000,
      default: 0,
      description:
        'DSPOT: with N >= 1, each score is judged by its excess over the mean of the last N normal scores, so the threshold rides on a level that drifts; 0 = SPOT, the threshold follows the spread of the scores only.',
    }),
    max_excesses: Type.Integer({
      minimum: 10,
      maximum: 100_000,
      default: 1000,
      description: 'Excesses over the tail threshold kept per stream for refitting, the oldest dropped first: bounds memory, refit time and the checkpoint (8 bytes each, up to three times over), and lets the tail forget old behaviour.',
    }),
  },
  'Streaming peaks-over-threshold (method spot): calibrated as pot, then each stream refits the tail from its own normal scores while it runs (Siffer et al. 2017).',
);

export const robustSchema = section(
  {
    quantile: Type.Number({
      exclusiveMinimum: 0,
      maximum: 0.5,
      default: 0.1,
      description: "Quantile of the calibration scores taken as the clean error floor; anomalies in up to 1 - quantile of the learning data do not move it.",
    }),
    factor: Type.Number({ minimum: 1, maximum: 1_000_000, default: 3, description: 'Threshold = factor x that quantile; score / threshold then reads "times the clean error floor" on every stream.' }),
  },
  'Robust calibration (method robust): a multiple of the error floor, for streams that learn from data that may already hold anomalies.',
);

export const likelihoodSchema = section(
  {
    enabled: Type.Boolean({
      default: false,
      description: "Judge each window's score against the stream's own recent scores (HTM's anomaly likelihood): the score becomes a log-likelihood in [0, 1] and `threshold` below replaces the calibrated one.",
    }),
    average_windows: Type.Integer({ minimum: 1, maximum: 10_000, default: 3, description: 'Recent raw scores averaged into the present.' }),
    history_windows: Type.Integer({ minimum: 2, maximum: 1_000_000, default: 500, description: 'Raw scores the Gaussian of the recent history is fitted to.' }),
    learning_windows: Type.Integer({ minimum: 2, maximum: 1_000_000, default: 150, description: 'Windows a stream is observed before it is judged (score 0 until then); at most history_windows.' }),
    threshold: Type.Number({ exclusiveMinimum: 0, maximum: 1, default: 0.5, description: 'Log-likelihood at or above which a window is anomalous; 0.5 = an upper-tail probability of 1e-5.' }),
    suppress_windows: Type.Integer({ minimum: 0, maximum: 1_000_000, default: 0, description: 'Windows after an anomalous one that score 0 and are not anomalous (the change was reported once).' }),
    range_tolerance: Type.Number({
      minimum: 0,
      maximum: 10,
      default: 0,
      description:
        "Range novelty (HTM's spatial anomaly): a window holding a value more than this fraction of the stream's seen range outside that range scores 1, however its likelihood reads. 0 = off; HTM uses 0.05.",
    }),
    coarse_pool: Type.Integer({
      minimum: 0,
      maximum: 1_000,
      default: 0,
      description:
        "Coarse time scale: with N >= 2, a second autoencoder of the same shape learns the stream mean-pooled by N samples (its window spans N times as long), and each window's coarse score is judged against its own history beside the main one; the more surprising of the two counts. Needs size x N + 64 learning samples, else the stream keeps one scale. Used by `evaluate` and by auto-learning (the coarse model is saved under the learned model's coarse/); models from `anomalyd train` have one scale. 0 = off.",
    }),
    coarse_period: Type.Boolean({
      default: false,
      description:
        "With coarse_pool >= 2: the coarse scale's pool is chosen from the stream's own period, found by autocorrelation of the learning samples alone: when the period is longer than the window, the pool that makes the coarse window span one period (round(period / window.size), at least 2), else coarse_pool. Recorded in the coarse model's manifest (pool). false = coarse_pool always.",
    }),
    period_baseline: Type.Boolean({
      default: false,
      description:
        "Judge each scale's score by its rise over the same scale's score one period earlier (max(0, score - score then)): an error that recurs at the same phase of the stream's cycle every period is no news. The period is found by autocorrelation of the learning samples alone and recorded in the learned model's manifest (period); only a period longer than the window counts, and without one the scores are judged as they are. Learned models only (evaluate, auto-learning, replay of a learned model); models from `anomalyd train` have no period.",
    }),
    transform_scale: oneOf(
      ['none', 'diff', 'demean'] as const,
      "Transformed scale: diff or demean = one more model (an ensemble of training.ensemble networks, as the main one) of the main model's shape learns the same windows with that input_transform, and its score of each window is judged against its own history beside the other scales; the most surprising scale counts. The differenced window sees a change of slope or of noise that a level-bound window's error hides. Used by `evaluate` and by auto-learning (saved under the learned model's transform/); models from `anomalyd train` have none. none = off.",
      'none',
    ),
  },
  'Anomaly likelihood over the recent score history of each stream.',
);

export const calibrationSchema = section(
  {
    method: oneOf(
      ['pot', 'percentile', 'sigma', 'robust', 'spot'] as const,
      'Threshold method: peaks-over-threshold tail fit, a percentile of the calibration scores, mean + sigma_k * std, robust = robust.factor times a low quantile of the calibration scores (for learning data that may already hold anomalies), or spot = pot at first, then a threshold that each stream keeps learning from its own normal scores (SPOT, or DSPOT with spot.depth; with likelihood.enabled the likelihood judges instead, as it does whatever the method, and spot only calibrates, as pot).',
      'pot',
    ),
    percentile: Type.Number({ exclusiveMinimum: 50, exclusiveMaximum: 100, default: 99.5, description: 'Percentile of the calibration scores used as threshold (method percentile).' }),
    sigma_k: Type.Number({ exclusiveMinimum: 0, maximum: 100, default: 4, description: 'Number of standard deviations above the mean score (method sigma).' }),
    pot: potSchema,
    robust: robustSchema,
    spot: spotSchema,
    outlier_fence: Type.Number({
      minimum: 0,
      maximum: 10,
      default: 3,
      description:
        'Calibration that does not assume clean data: learning scores beyond the Tukey fence exp(Q3 + k * IQR) of the log scores (k = this value) are left out before the threshold method reads them, so a fault in the learning period does not lift the threshold over itself (train and calibrate say how many). Clean data puts nothing beyond k = 3; 0 = every score is used.',
    }),
    likelihood: likelihoodSchema,
  },
  'How the anomaly threshold is derived from the scores of held-out normal windows.',
);

export const alertingSchema = section(
  {
    k: Type.Integer({ minimum: 1, maximum: 10_000, default: 3, description: 'An alert starts firing when k of the last n windows are anomalous.' }),
    n: Type.Integer({ minimum: 1, maximum: 10_000, default: 5, description: 'Length of the k-of-n decision window (windows); k must not exceed n.' }),
    reset_windows: Type.Integer({ minimum: 1, maximum: 10_000, default: 5, description: 'Consecutive normal windows needed before a firing alert resolves.' }),
    reset_ratio: Type.Number({
      exclusiveMinimum: 0,
      maximum: 1,
      default: 0.9,
      description: 'Hysteresis: while firing, a window only counts as normal when its score is below reset_ratio * threshold.',
    }),
    keep_firing_for_ms: Type.Integer({ minimum: 0, default: 60_000, description: 'Minimum time (milliseconds) an alert stays firing, which suppresses flapping.' }),
    severity_critical_p_value: Type.Number({
      exclusiveMinimum: 0,
      exclusiveMaximum: 1,
      default: 0.00001,
      description: 'Alerts whose window tail probability is below this value are critical, the others warning; a firing warning that reaches it is re-notified as critical.',
    }),
    insufficient_windows: Type.Integer({
      minimum: 1,
      maximum: 10_000,
      default: 5,
      description: 'Consecutive windows too incomplete to score before an InsufficientData alert fires; the next scored window resolves it.',
    }),
    flap_max_starts: Type.Integer({
      minimum: 0,
      maximum: 1_000,
      default: 3,
      description: 'An alert that starts firing more often than this within flap_period_ms is held as flapping: one notice, no page per flap. 0 disables flap detection.',
    }),
    flap_period_ms: Type.Integer({ minimum: 1_000, default: 1_800_000, description: 'Period (milliseconds) over which alert starts are counted for flap detection.' }),
    flap_quiet_ms: Type.Integer({
      minimum: 0,
      default: 900_000,
      description: 'A flapping alert resolves once no anomaly has been active for this long (milliseconds).',
    }),
    stall_after_ms: Type.Integer({
      minimum: 0,
      maximum: 604_800_000,
      default: 300_000,
      description: 'A stream that sends nothing for this long (milliseconds, wall clock) raises an IngestionStalled alert, distinct from anomalies; it resolves when samples arrive again. 0 disables it.',
    }),
    top_channels: Type.Integer({ minimum: 1, maximum: 256, default: 3, description: 'Channels with the largest share of the reconstruction error named on every alert.' }),
    flatline_samples: Type.Integer({
      minimum: 0,
      maximum: 1_000_000,
      default: 0,
      description:
        'A channel that repeats exactly the same value for this many consecutive samples raises a SensorFlatline alert naming it (a stuck sensor or a gateway repeating its last reading: the model cannot see it, the value is a normal one); it resolves when the value changes. 0 disables it; leave it off for counters, set points and coarse sensors that repeat values legitimately.',
    }),
    spike_factor: Type.Number({
      minimum: 0,
      maximum: 1_000_000,
      default: 0,
      description:
        "A sample that jumps away from both its neighbours, in the same direction, by more than this many times the channel's typical sample-to-sample change is a spike; spike_count spikes within spike_window_samples raise a SensorSpikes alert naming the channel (a glitching sensor: scaling clips the spike, so the model sees little of it). 0 disables it.",
    }),
    spike_count: Type.Integer({ minimum: 1, maximum: 100_000, default: 3, description: 'Spikes within spike_window_samples that raise the SensorSpikes alert.' }),
    spike_window_samples: Type.Integer({
      minimum: 2,
      maximum: 1_000_000,
      default: 60,
      description: 'Samples over which spikes are counted; the alert resolves once a channel has fewer than spike_count spikes in that many samples.',
    }),
  },
  'Turning anomalous windows into alerts: k-of-n start, hysteresis, minimum firing time, flapping and insufficient data.',
);

export const expectedSchema = section(
  {
    values: Type.Boolean({
      default: false,
      description:
        "Write, beside every score, what the model expected of each channel at the window's last sample, in the channel's own units, with that sample's reading and the channel's tolerance (InfluxDB anomaly_expected, mqtt_out; the asset dashboard's observed-against-expected panel). Off by default for its cost: one more InfluxDB point per scored window (about 3x the bytes) and, measured on the bundled pump model, about half the scoring stage's windows/s (docs/design.md, Expected values).",
    }),
    denoised: Type.Boolean({
      default: false,
      description:
        "Also write the stream's denoised signal: what the model expected of every sample, each sample once, from the first window that covers it (InfluxDB anomaly_denoised, one point per sample: as many points as the stream has samples).",
    }),
  },
  "The model's expectation written beside the scores (the denoising autoencoder's other use: a cleaned signal).",
);

export const detectionDefaultsSchema = section(
  {
    window: windowSchema,
    training: trainingSchema,
    calibration: calibrationSchema,
    alerting: alertingSchema,
    expected: expectedSchema,
  },
  'Detection settings applied to every stream unless its subscription or stream entry overrides them.',
);

/**
 * The detector profile of streams that auto-learn (model "auto"): laid over `defaults`, under the subscription's
 * and stream's own overrides. Its defaults are what measured best on the public benchmarks (README, Detection
 * quality): HTM's anomaly likelihood with its range check, a coarse time scale and an ensemble of three per
 * scale (the NAB winner; input_transform stays defaults', none, which measured better on NAB and the same on
 * SKAB under the likelihood). Streams with a configured model keep `defaults` as they are.
 */
export const autoLearnSchema = section(
  {
    training: profileOf(
      trainingSchema,
      { ensemble: 3 },
      'Training of auto-learned models, over defaults.training (the window count to collect stays defaults.training.auto_learn_windows).',
    ),
    calibration: profileOf(
      calibrationSchema,
      { likelihood: { enabled: true, threshold: 0.5, range_tolerance: 0.05, coarse_pool: 8 } },
      "Calibration of auto-learned models, over defaults.calibration. The likelihood's average/history/learning/suppress_windows, unless written here or in the subscription or stream entry, are HTM's counts in samples (10, 8640, 288, 200: NAB rows, scored one window per row) divided by the stream's hop and rounded up, so they span the same time whatever the hop (at least 10 learning and 20 history windows).",
    ),
    alerting: profileOf(
      alertingSchema,
      { k: 1 },
      'Alerting of auto-learned streams, over defaults.alerting: the likelihood already averages and reports a change once (the windows after a detection are suppressed), so an alert starts on the first anomalous window.',
    ),
  },
  'Detector profile of streams whose model is "auto" and that learn one: over `defaults`, under their subscription\'s and stream entry\'s overrides. Streams with a configured model do not use it.',
);
