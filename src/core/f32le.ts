// The `f32le` binary framing for high-rate signals (ECG, vibration at hundreds of Hz).
//
//   [optional 12-byte header] [float32 LE sample 0 channel 0] [sample 0 channel 1] ... [sample n-1 channel C-1]
//
// - Values are IEEE 754 float32, little-endian, channels interleaved in the subscription's channel order, so the
//   data part must be a whole number of samples (a multiple of 4 * C bytes).
// - Header: the 4 magic bytes 61 64 c0 7f, then the time of the first sample as a signed int64 LE of epoch
//   milliseconds. Read as a float32 the magic is a NaN with payload 0x6461 ("ad"), which no sensor produces, so a
//   header can never be mistaken for data. Sample i is at start + i * 1000 / sample_rate_hz.
// - Without a header (or with timestamp source `arrival`) the LAST sample is stamped with the arrival time and
//   the earlier ones are spaced back by 1 / sample_rate_hz: the chunk is assumed to be published as soon as it is
//   complete. Publishers that batch or buffer should send the header.
// - A NaN value is a missing value (the usual way binary gateways say "no reading"); +-Infinity and magnitudes
//   beyond MAX_ABS_VALUE are rejected.
// The format itself (magic, header, encoding) is here; the decoder with its checks is sources/f32le.ts.

export const F32LE_MAGIC = Buffer.from([0x61, 0x64, 0xc0, 0x7f]);
export const F32LE_HEADER_BYTES = 12;

export function hasF32leHeader(payload: Uint8Array): boolean {
  return payload.length >= F32LE_HEADER_BYTES && F32LE_MAGIC.every((b, i) => payload[i] === b);
}

/**
 * Encodes samples (time-major interleaved values) as an f32le payload; with `startMs` a header carries the
 * time of the first sample. Used by the simulator and tests.
 */
export function encodeF32le(values: ArrayLike<number>, startMs?: number): Buffer {
  const offset = startMs === undefined ? 0 : F32LE_HEADER_BYTES;
  const buf = Buffer.alloc(offset + 4 * values.length);
  if (startMs !== undefined) {
    F32LE_MAGIC.copy(buf, 0);
    buf.writeBigInt64LE(BigInt(Math.round(startMs)), 4);
  }
  for (let i = 0; i < values.length; i++) buf.writeFloatLE(values[i], offset + 4 * i);
  return buf;
}
