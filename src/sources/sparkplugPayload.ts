// Sparkplug B payloads as plain numbers: the protobuf is read by Eclipse Tahu's own generated code (the npm package
// sparkplug-payload, built from the Sparkplug specification's sparkplug_b.proto), and each metric value is turned
// into a number here, by datatype, exactly.
//
// Why not Tahu's decodePayload: it converts each metric with the datatype written in that metric, and Sparkplug
// lets a DATA message leave the datatype out (the birth certificate gave it), so an aliased metric came back with
// the value null; it reads UInt32 with Long.toInt(), which turns 4,000,000,000 into -294,967,296; and one DataSet or
// Template metric with an empty cell throws, losing the whole birth. Reading the generated message ourselves keeps
// every value: the datatype comes from the birth where the message has none.
//
// 64-bit integers (Int64, UInt64, seq, alias, timestamps) arrive as protobufjs Long objects; they are converted
// through BigInt, and a value beyond 2^53 (not representable exactly as a float) is refused rather than rounded.
import { org } from 'sparkplug-payload/lib/sparkplugPayloadProto';

const Payload = org.eclipse.tahu.protobuf.Payload;
type ProtoMetric = org.eclipse.tahu.protobuf.Payload.IMetric;

/** The Sparkplug B datatypes (sparkplug_b.proto, DataType). */
export const DATATYPE_NAMES: Readonly<Record<number, string>> = {
  0: 'Unknown', 1: 'Int8', 2: 'Int16', 3: 'Int32', 4: 'Int64', 5: 'UInt8', 6: 'UInt16', 7: 'UInt32', 8: 'UInt64',
  9: 'Float', 10: 'Double', 11: 'Boolean', 12: 'String', 13: 'DateTime', 14: 'Text', 15: 'UUID', 16: 'DataSet',
  17: 'Bytes', 18: 'File', 19: 'Template', 20: 'PropertySet', 21: 'PropertySetList',
};

/** The datatypes that carry one number a channel can take: Int8..UInt64, Float, Double, Boolean. */
export function isNumericDatatype(datatype: number): boolean {
  return datatype >= 1 && datatype <= 11;
}

export function datatypeName(datatype: number | undefined): string {
  return datatype === undefined ? 'no datatype' : (DATATYPE_NAMES[datatype] ?? `datatype ${datatype}`);
}

/** One metric as read from the wire; the value is still in its protobuf field (see metricValue). */
export interface SparkplugMetric {
  readonly name?: string;
  /** The alias as a decimal string (a uint64: a Map key that cannot lose precision). */
  readonly alias?: string;
  readonly timestamp?: number;
  readonly datatype?: number;
  readonly isNull: boolean;
  readonly raw: ProtoMetric;
}

export interface SparkplugPayload {
  readonly timestamp?: number;
  readonly seq?: number;
  readonly metrics: readonly SparkplugMetric[];
}

/** Decodes a payload; throws an Error saying what is wrong when it is not a Sparkplug B protobuf. */
export function readSparkplugPayload(bytes: Uint8Array): SparkplugPayload {
  const p = Payload.decode(bytes);
  const metrics = (p.metrics ?? []).map((m): SparkplugMetric => {
    const has = (k: keyof ProtoMetric): boolean => Object.hasOwn(m, k) && m[k] !== null && m[k] !== undefined;
    return {
      ...(has('name') ? { name: m.name as string } : {}),
      ...(has('alias') ? { alias: unsignedBig(m.alias as number | LongLike).toString() } : {}),
      ...(has('timestamp') ? { timestamp: uint64Number(m.timestamp as number | LongLike, 'metric timestamp') } : {}),
      ...(has('datatype') ? { datatype: m.datatype as number } : {}),
      isNull: m.isNull === true,
      raw: m,
    };
  });
  return {
    ...(Object.hasOwn(p, 'timestamp') ? { timestamp: uint64Number(p.timestamp, 'payload timestamp') } : {}),
    ...(Object.hasOwn(p, 'seq') ? { seq: uint64Number(p.seq, 'seq') } : {}),
    metrics,
  };
}

/**
 * The value of a numeric metric as a number, read as `datatype` (the metric's own, else its birth's): NaN for a
 * null metric; a string saying why when it cannot be read exactly.
 */
export function metricValue(m: SparkplugMetric, datatype: number): number | string {
  if (m.isNull) return NaN;
  const r = m.raw;
  // The generated class names the member of the `value` oneof that is set (e.g. 'stringValue').
  const field = (r as { value?: string }).value;
  switch (datatype) {
    // Int8 and Int16 are sign-extended from their own width, so both encodings in use (the narrow two's complement,
    // or its 32-bit sign extension, as Tahu writes it) read the same.
    case 1:
      return intOf(r, 8) ?? missing(datatype, field);
    case 2:
      return intOf(r, 16) ?? missing(datatype, field);
    case 3:
      return intOf(r, 32) ?? missing(datatype, field);
    case 5:
      return uintOf(r, 8) ?? missing(datatype, field);
    case 6:
      return uintOf(r, 16) ?? missing(datatype, field);
    case 7:
      // Tahu writes UInt32 as a long; some edge nodes write it as an int (uint32 on the wire either way).
      if (typeof r.intValue === 'number' && (r.longValue === null || r.longValue === undefined)) return r.intValue >>> 0;
      return long(r, datatype, field);
    case 4:
    case 8:
      return long(r, datatype, field);
    case 9:
      return typeof r.floatValue === 'number' ? r.floatValue : missing(datatype, field);
    case 10:
      return typeof r.doubleValue === 'number' ? r.doubleValue : missing(datatype, field);
    case 11:
      return typeof r.booleanValue === 'boolean' ? (r.booleanValue ? 1 : 0) : missing(datatype, field);
    default:
      return `${datatypeName(datatype)} is not a number a channel can take`;
  }
}

function long(r: ProtoMetric, datatype: 4 | 7 | 8, field: string | undefined): number | string {
  if (r.longValue === null || r.longValue === undefined) return missing(datatype, field);
  const raw = unsignedBig(r.longValue);
  const v = datatype === 4 ? BigInt.asIntN(64, raw) : datatype === 7 ? BigInt.asUintN(32, raw) : raw;
  return exact(v, datatypeName(datatype));
}

function intOf(r: ProtoMetric, bits: 8 | 16 | 32): number | undefined {
  if (typeof r.intValue !== 'number') return undefined;
  const shift = 32 - bits;
  return (r.intValue << shift) >> shift;
}

function uintOf(r: ProtoMetric, bits: 8 | 16): number | undefined {
  if (typeof r.intValue !== 'number') return undefined;
  return r.intValue & ((1 << bits) - 1);
}

function missing(datatype: number, field: string | undefined): string {
  return `${datatypeName(datatype)} metric carries ${field ? `a ${field}` : 'no value'}`;
}

/** What protobufjs gives for a 64-bit field (a long.js Long), without depending on long.js. */
interface LongLike {
  readonly low: number;
  readonly high: number;
}

function unsignedBig(v: number | LongLike): bigint {
  if (typeof v === 'number') return BigInt.asUintN(64, BigInt(Math.trunc(v)));
  return (BigInt(v.high >>> 0) << 32n) | BigInt(v.low >>> 0);
}

function exact(v: bigint, what: string): number | string {
  if (v > BigInt(Number.MAX_SAFE_INTEGER) || v < BigInt(Number.MIN_SAFE_INTEGER)) return `${what} value ${v} is beyond 2^53 and has no exact float value`;
  return Number(v);
}

function uint64Number(v: number | LongLike, what: string): number {
  const n = exact(unsignedBig(v), what);
  if (typeof n === 'string') throw new Error(n);
  return n;
}
