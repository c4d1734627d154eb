// The `f32le` decoder: samples from a binary chunk (the format is described in core/f32le.ts).
import type { Sample } from '../core/types';
import { F32LE_HEADER_BYTES, hasF32leHeader } from '../core/f32le';
import { checkTime, checkedNumber, reject, timeLimits, type TimeLimits, type TimestampOptions } from './decodeValues';

export function decodeF32le(
  payload: Uint8Array,
  channels: number,
  rateHz: number,
  ts: TimestampOptions,
  arrivalMs: number,
  limits: TimeLimits = timeLimits(ts),
): Sample[] {
  const buf = Buffer.from(payload.buffer, payload.byteOffset, payload.byteLength);
  const header = hasF32leHeader(buf);
  const offset = header ? F32LE_HEADER_BYTES : 0;
  const bytes = buf.length - offset;
  const sampleBytes = 4 * channels;
  if (bytes === 0) reject('invalid_binary', header ? 'header without samples' : 'empty payload');
  if (bytes % sampleBytes !== 0) {
    reject('invalid_binary', `${bytes} data bytes are not a whole number of samples (${channels} channel(s) x 4 bytes)`);
  }
  const n = bytes / sampleBytes;
  const periodMs = 1000 / rateHz;
  let start: number;
  if (ts.source !== 'arrival' && header) {
    const raw = buf.readBigInt64LE(4);
    if (raw > BigInt(Number.MAX_SAFE_INTEGER) || raw < -BigInt(Number.MAX_SAFE_INTEGER)) reject('bad_timestamp', `header time ${raw} ms is out of range`);
    start = checkTime(Number(raw), arrivalMs, limits, 'header time');
  } else if (ts.source === 'payload') {
    reject('bad_timestamp', 'no header with the start time (timestamp source is payload)');
  } else {
    start = arrivalMs - (n - 1) * periodMs;
  }
  checkTime(start + (n - 1) * periodMs, arrivalMs, limits, 'last sample time');
  const values = new Float32Array(n * channels);
  let observed = 0;
  for (let i = 0; i < values.length; i++) {
    const v = buf.readFloatLE(offset + 4 * i);
    if (!Number.isNaN(v)) {
      checkedNumber(v, `sample ${Math.floor(i / channels)} channel ${i % channels}`);
      observed++;
    }
    values[i] = v;
  }
  if (observed === 0) reject('missing_channel', `all ${values.length} values are NaN (missing)`);
  const samples: Sample[] = new Array<Sample>(n);
  for (let i = 0; i < n; i++) samples[i] = { ts: start + i * periodMs, values: values.subarray(i * channels, (i + 1) * channels) };
  return samples;
}
