// Payload decoders: pure functions from a message payload to samples in the subscription's channel order, or a
// rejection with a reason (the `reason` label of anomalyd_messages_rejected_total) and a detail that says what
// is wrong and where. A decoder never throws; a message is accepted or rejected as a whole.
//
// Accepted shapes (C = the subscription's channels, `ts` = the configured timestamp field):
//   json        {"ts": 1700000000000, "a": 1.5, "b": null}     channels by name; absent or null = missing (NaN);
//               other keys ignored; a message with no channel value at all is rejected (missing_channel).
//   json_array  [{"ts": ..., "a": 1, "b": 2}, ...]             objects as for json; either every element has `ts`
//               or none (then the last is at arrival time, earlier ones 1/sample_rate_hz apart);
//               {"ts": ..., "rate_hz": 250, "samples": [[a, b], [a, b], ...]}   a chunk: `ts` is the first
//               sample's time (absent: the last sample is at arrival), rate_hz overrides sample_rate_hz; with one
//               channel the samples may be plain numbers ([0.1, 0.2, ...]); null = missing.
//   csv         "1.5,2.5" (C fields) or "<ts>,1.5,2.5" (C+1 fields: the first is the timestamp; with timestamp
//               source `arrival` it is ignored); one line, optional trailing newline; an empty cell = missing.
//   number      "1.5": one channel, stamped with the arrival time.
//   f32le       float32 LE, channels interleaved, optional time header: see f32le.ts.
// Timestamps: `ms` or `s` since the epoch as JSON numbers (or decimal text in CSV), or ISO 8601 strings (no zone
// = UTC); negative is rejected (bad_timestamp), more than timestamp.max_future_skew_ms after arrival
// (future_timestamp) or more than timestamp.max_age_ms before it (too_old): only payload times are checked, a time
// taken from arrival is right by definition. Values: finite numbers of
// magnitude at most MAX_ABS_VALUE. Text must be valid UTF-8. The size cap is checked before anything else.
// JSON is read with JSON.parse and own-property lookups only, so keys like `__proto__` or `constructor` are
// plain data that never reach a prototype; nothing from a payload is merged into another object.
import type { RejectReason } from '../core/context';
import { errorMessage } from '../core/errors';
import type { Sample } from '../core/types';
import { MAX_ABS_VALUE, Rejection, checkTime, clip, decimalValue, describe, jsonRate, jsonTimestamp, jsonValue, reject, textTimestamp, timeLimitProblems, timeLimits, type TimeLimits, type TimestampOptions } from './decodeValues';
import { decodeF32le } from './f32le';
import { FlatSlots, flatKeys, readFlatObject } from './jsonFlat';

export type DecoderKind = 'json' | 'json_array' | 'csv' | 'number' | 'f32le';
export type { TimestampOptions } from './decodeValues';

export interface DecoderOptions {
  readonly kind: DecoderKind;
  /** Channel names in model input order. */
  readonly channels: readonly string[];
  readonly timestamp: TimestampOptions;
  /** Sampling rate of chunked payloads: required for f32le, used by json_array when samples carry no time. */
  readonly sampleRateHz?: number;
  /** Larger payloads are rejected ('oversize') before they are looked at. */
  readonly maxPayloadBytes: number;
}

/** `channels`: the samples' channels where the message itself names them (Sparkplug births); absent: the subscription's. */
export type DecodeResult =
  | { readonly ok: true; readonly samples: Sample[]; readonly channels?: readonly string[] }
  | { readonly ok: false; readonly reason: RejectReason; readonly detail: string };

export type PayloadDecoder = (payload: Uint8Array, arrivalMs: number) => DecodeResult;

/** Problems with decoder options (config mistakes), one message each; empty when valid. */
export function decoderProblems(o: DecoderOptions): string[] {
  const p: string[] = [];
  if (o.channels.length === 0) p.push('at least one channel is needed');
  if (new Set(o.channels).size !== o.channels.length) p.push('channel names must be unique');
  if (!(o.maxPayloadBytes >= 1)) p.push('max payload bytes must be at least 1');
  if (o.sampleRateHz !== undefined && !(o.sampleRateHz > 0 && Number.isFinite(o.sampleRateHz))) p.push('sample rate must be a positive number');
  if (o.kind === 'f32le' && o.sampleRateHz === undefined) p.push('decoder f32le needs sample_rate_hz');
  p.push(...timeLimitProblems(o.timestamp));
  if (o.kind === 'number' && o.channels.length !== 1) p.push(`decoder number carries one channel (got ${o.channels.length})`);
  if (o.kind === 'number' && o.timestamp.source === 'payload') p.push('decoder number has no timestamp in the payload: use timestamp source arrival or auto');
  if ((o.kind === 'json' || o.kind === 'json_array') && o.timestamp.source !== 'arrival' && o.channels.includes(o.timestamp.field)) {
    p.push(`timestamp field '${o.timestamp.field}' is also a channel name`);
  }
  return p;
}

/** Builds the decoder for a subscription; throws an Error (one problem per line) on invalid options. */
export function createDecoder(options: DecoderOptions): PayloadDecoder {
  const problems = decoderProblems(options);
  if (problems.length > 0) throw new Error(problems.join('\n'));
  const o: Resolved = { ...options, channels: [...options.channels], timestamp: { ...options.timestamp }, limits: timeLimits(options.timestamp) };
  const decode = o.kind === 'json' ? flatJsonFirst(o) : FORMATS[o.kind];
  return (payload, arrivalMs) => {
    if (payload.length > o.maxPayloadBytes) return { ok: false, reason: 'oversize', detail: `payload of ${payload.length} bytes exceeds ${o.maxPayloadBytes}` };
    try {
      return { ok: true, samples: decode(payload, o, arrivalMs) };
    } catch (err) {
      if (err instanceof Rejection) return { ok: false, reason: err.reason, detail: err.detail };
      // A bug here must not take the daemon down with a poison message: report it as unreadable input.
      return { ok: false, reason: o.kind === 'f32le' ? 'invalid_binary' : 'invalid_json', detail: `decoder error: ${errorMessage(err)}` };
    }
  };
}

/** One-shot decode (tests, tools); the daemon builds each decoder once with createDecoder. */
export function decodePayload(payload: Uint8Array, options: DecoderOptions, arrivalMs: number): DecodeResult {
  try {
    return createDecoder(options)(payload, arrivalMs);
  } catch (err) {
    return { ok: false, reason: 'invalid_json', detail: `invalid decoder options: ${errorMessage(err)}` };
  }
}

/** The options with the time limits resolved once, so a message costs one comparison per limit. */
interface Resolved extends DecoderOptions {
  readonly limits: TimeLimits;
}

type Format = (payload: Uint8Array, o: Resolved, arrivalMs: number) => Sample[];

const FORMATS: Record<DecoderKind, Format> = {
  json: (payload, o, arrival) => {
    const doc = parseJson(payload);
    if (!isRecord(doc)) reject('invalid_json', `expected a JSON object, got ${describe(doc)}`);
    const values = new Float64Array(o.channels.length);
    const own = objectValues(doc, o.channels, values, 0, '');
    if (own === 0) reject('missing_channel', `no value for any channel (${channelList(o.channels)})`);
    return [{ ts: objectTime(doc, o, arrival, '') ?? arrival, values }];
  },
  json_array: (payload, o, arrival) => {
    const doc = parseJson(payload);
    if (Array.isArray(doc)) return objectArray(doc, o, arrival);
    if (isRecord(doc) && Object.hasOwn(doc, 'samples')) return chunk(doc, o, arrival);
    return reject('invalid_json', `expected an array of samples or an object with "samples", got ${describe(doc)}`);
  },
  csv: (payload, o, arrival) => {
    const line = utf8(payload).replace(/\r?\n$/, '');
    if (/[\r\n]/.test(line)) reject('invalid_csv', 'more than one line');
    if (line.trim() === '') reject('invalid_csv', 'empty payload');
    if (line.includes('"')) reject('invalid_csv', 'quoted fields are not supported');
    const fields = line.split(',').map((f) => f.trim());
    const c = o.channels.length;
    if (fields.length < c) reject('missing_channel', `${fields.length} field(s), expected ${c} (${channelList(o.channels)}) or ${c + 1} with a leading timestamp`);
    if (fields.length > c + 1) reject('invalid_csv', `${fields.length} fields, expected ${c} or ${c + 1} with a leading timestamp`);
    const hasTs = fields.length === c + 1;
    let ts = arrival;
    if (hasTs && o.timestamp.source !== 'arrival') ts = textTimestamp(fields[0], o.timestamp.unit, arrival, o.limits, 'timestamp field');
    if (!hasTs && o.timestamp.source === 'payload') reject('bad_timestamp', `no leading timestamp field (${fields.length} fields)`);
    const cells = hasTs ? fields.slice(1) : fields;
    const values = new Float64Array(c);
    let observed = 0;
    cells.forEach((cell, i) => {
      values[i] = cell === '' ? NaN : decimalValue(cell, `channel '${o.channels[i]}'`);
      if (cell !== '') observed++;
    });
    if (observed === 0) reject('missing_channel', 'every field is empty');
    return [{ ts, values }];
  },
  number: (payload, o, arrival) => {
    const text = utf8(payload).trim();
    if (text === '') reject('invalid_number', 'empty payload');
    return [{ ts: arrival, values: Float64Array.of(decimalValue(text, `channel '${o.channels[0]}'`)) }];
  },
  f32le: (payload, o, arrival) => decodeF32le(payload, o.channels.length, o.sampleRateHz ?? NaN, o.timestamp, arrival, o.limits),
};

/**
 * The json format with a fast path for flat objects of numbers (jsonFlat.ts): same values, same rejections and
 * messages (the same checks run on what it read), no string or object per message; anything else goes the
 * full way.
 */
function flatJsonFirst(o: Resolved): Format {
  const c = o.channels.length;
  const withTime = o.timestamp.source !== 'arrival';
  const keys = flatKeys(withTime ? [...o.channels, o.timestamp.field] : o.channels);
  const slots = new FlatSlots(keys.length);
  const { numbers } = slots;
  const where = o.channels.map((ch) => `channel '${ch}'`);
  const timeWhere = `field '${o.timestamp.field}'`;
  // A message's values as a plain array of doubles, copied from this one: about half the memory of a
  // Float64Array (which is three heap objects), and this allocation happens for every message.
  const valuesTemplate = new Array<number>(c).fill(0.5);
  return (payload, opts, arrival) => {
    if (!readFlatObject(payload, keys, slots)) return FORMATS.json(payload, opts, arrival);
    const values = valuesTemplate.slice();
    let observed = 0;
    for (let i = 0; i < c; i++) {
      if (slots.isNumber(i)) {
        observed++;
        const raw = numbers[i];
        // The common case inline; anything jsonValue would reject goes through it for the same message.
        values[i] = Number.isFinite(raw) && Math.abs(raw) <= MAX_ABS_VALUE ? raw : jsonValue(raw, where[i]);
      } else {
        values[i] = NaN;
      }
    }
    if (observed === 0) reject('missing_channel', `no value for any channel (${channelList(o.channels)})`);
    let ts = arrival;
    if (withTime) {
      const raw = slots.value(c);
      if (raw !== undefined) ts = jsonTimestamp(raw, o.timestamp.unit, arrival, o.limits, timeWhere);
      else if (o.timestamp.source === 'payload') reject('bad_timestamp', `missing timestamp field '${o.timestamp.field}'`);
    }
    return [{ ts, values }];
  };
}

const utf8Decoder = new TextDecoder('utf-8', { fatal: true });

function utf8(payload: Uint8Array): string {
  try {
    return utf8Decoder.decode(payload);
  } catch {
    return reject('invalid_utf8', 'payload is not valid UTF-8');
  }
}

function parseJson(payload: Uint8Array): unknown {
  const text = utf8(payload);
  try {
    return JSON.parse(text) as unknown;
  } catch (err) {
    return reject('invalid_json', clip(errorMessage(err), 120));
  }
}

type JsonRecord = Record<string, unknown>;

function isRecord(v: unknown): v is JsonRecord {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function own(doc: JsonRecord, key: string): unknown {
  return Object.hasOwn(doc, key) ? doc[key] : undefined;
}

/** Reads channel values of one object into values[offset..]; returns how many were numbers. */
function objectValues(doc: JsonRecord, channels: readonly string[], values: Float64Array, offset: number, where: string): number {
  let observed = 0;
  for (let c = 0; c < channels.length; c++) {
    const raw = own(doc, channels[c]);
    values[offset + c] = raw === undefined ? NaN : jsonValue(raw, `${where}channel '${channels[c]}'`);
    if (typeof raw === 'number') observed++;
  }
  return observed;
}

/** The object's own timestamp, or undefined when the arrival time applies. */
function objectTime(doc: JsonRecord, o: Resolved, arrival: number, where: string): number | undefined {
  if (o.timestamp.source === 'arrival') return undefined;
  const raw = own(doc, o.timestamp.field);
  if (raw !== undefined) return jsonTimestamp(raw, o.timestamp.unit, arrival, o.limits, `${where}field '${o.timestamp.field}'`);
  if (o.timestamp.source === 'payload') reject('bad_timestamp', `${where}missing timestamp field '${o.timestamp.field}'`);
  return undefined;
}

function objectArray(doc: unknown[], o: Resolved, arrival: number): Sample[] {
  if (doc.length === 0) reject('missing_channel', 'empty array');
  const c = o.channels.length;
  const values = new Float64Array(doc.length * c);
  const times: (number | undefined)[] = [];
  let observed = 0;
  doc.forEach((el, i) => {
    if (!isRecord(el)) reject('invalid_json', `element ${i} is ${describe(el)}, expected an object`);
    observed += objectValues(el, o.channels, values, i * c, `element ${i} `);
    times.push(objectTime(el, o, arrival, `element ${i} `));
  });
  if (observed === 0) reject('missing_channel', `no value for any channel (${channelList(o.channels)})`);
  const stamped = times.filter((t) => t !== undefined).length;
  if (stamped !== 0 && stamped !== times.length) reject('bad_timestamp', `${stamped} of ${times.length} elements have '${o.timestamp.field}': all or none must`);
  const ts = stamped > 0 ? (times as number[]) : spacedBack(doc.length, o.sampleRateHz, arrival, 'elements carry no timestamp');
  return toSamples(ts, values, c);
}

function chunk(doc: JsonRecord, o: Resolved, arrival: number): Sample[] {
  const rows = own(doc, 'samples');
  if (!Array.isArray(rows)) reject('invalid_json', `"samples" is ${describe(rows)}, expected an array`);
  if (rows.length === 0) reject('missing_channel', '"samples" is empty');
  const c = o.channels.length;
  const values = new Float64Array(rows.length * c);
  let observed = 0;
  rows.forEach((row: unknown, i) => {
    const cells: unknown[] = Array.isArray(row) ? row : c === 1 && (typeof row === 'number' || row === null) ? [row] : reject('invalid_json', `sample ${i} is ${describe(row)}, expected an array of ${c} value(s)`);
    if (cells.length < c) reject('missing_channel', `sample ${i} has ${cells.length} value(s), expected ${c} (${channelList(o.channels)})`);
    if (cells.length > c) reject('invalid_json', `sample ${i} has ${cells.length} values, expected ${c}`);
    for (let k = 0; k < c; k++) {
      values[i * c + k] = jsonValue(cells[k], `sample ${i} channel '${o.channels[k]}'`);
      if (typeof cells[k] === 'number') observed++;
    }
  });
  if (observed === 0) reject('missing_channel', 'every value is null');
  const rawRate = own(doc, 'rate_hz');
  const rate = rawRate === undefined ? o.sampleRateHz : jsonRate(rawRate, '"rate_hz"');
  const start = objectTime(doc, o, arrival, '');
  if (start === undefined) return toSamples(spacedBack(rows.length, rate, arrival, 'the chunk has no start time'), values, c);
  if (rows.length > 1 && rate === undefined) reject('bad_timestamp', 'a chunk of several samples needs "rate_hz" or a configured sample rate');
  const period = rate === undefined ? 0 : 1000 / rate;
  checkTime(start + (rows.length - 1) * period, arrival, o.limits, 'last sample time');
  return toSamples(Array.from({ length: rows.length }, (_, i) => start + i * period), values, c);
}

/** Times of n samples whose last one arrived now, 1/rate apart. */
function spacedBack(n: number, rate: number | undefined, arrival: number, why: string): number[] {
  if (n > 1 && rate === undefined) reject('bad_timestamp', `${why} and no sample rate is configured`);
  const period = rate === undefined ? 0 : 1000 / rate;
  return Array.from({ length: n }, (_, i) => arrival - (n - 1 - i) * period);
}

function toSamples(ts: readonly number[], values: Float64Array, c: number): Sample[] {
  const samples: Sample[] = new Array<Sample>(ts.length);
  for (let i = 0; i < ts.length; i++) {
    if (i > 0 && ts[i] < ts[i - 1]) reject('bad_timestamp', `samples are not in time order (sample ${i} is before sample ${i - 1})`);
    samples[i] = { ts: ts[i], values: values.subarray(i * c, (i + 1) * c) };
  }
  return samples;
}

function channelList(channels: readonly string[]): string {
  return channels.length <= 8 ? channels.join(', ') : `${channels.slice(0, 8).join(', ')}, ...`;
}
