// Names and strings in InfluxDB 1.x line protocol, escaped the way its parser reads them back (checked against a
// real InfluxDB for random stream ids by test/integration/influxIds.test.ts).
//
// How 1.x reads a tag key or value: a ",", "=" or " " preceded by a backslash belongs to the value, and "\,",
// "\=" and "\ " are then replaced by the character. Any other backslash is kept as it is: there is no escape for
// a backslash itself ("\\" stays two backslashes). So a value is written with a backslash before each of the
// three characters and nothing else, and comes back exactly, backslashes included, except:
// - a backslash at the end of a value escapes the separator after it (the point is refused, "invalid tag
//   format");
// - a backslash right before one of the three characters: the tag reader gets it right, but the line splitter
//   reads backslashes in pairs, takes "\\ " for an escaped backslash and a real space, and with a '"' later in
//   the line (counted as the start of a quoted field) joins the next line to it: both points are refused;
// - a line break ends the line whatever precedes it.
// Stream ids with such backslashes or with control characters are refused at admission (sources/topics.ts); here,
// as a last resort for values from elsewhere, such a backslash and a "\n" are written as U+FFFD, so the rest
// of the batch is never lost with them. Field keys: a backslash before '"' is an escape there too (never in a
// configured channel name). Measurement names escape "," and " " only. String field values are quoted with '"'
// and "\" escaped, and come back exactly (line breaks too).
//
// The `influx` package's escape.tag did the same for tags except that it also turned the first "\'" of a value
// into "\\'" (stored with one backslash too many), and wrote the backslashes above as they are.

const REPLACEMENT = '\uFFFD';

const TAG_SPECIAL = /[,= \n\\]/;
const MEASUREMENT_SPECIAL = /[, \n\\]/;

/** A tag key or value (line breaks and backslashes 1.x cannot carry replaced, see above). */
export function escapeTag(value: string): string {
  if (!TAG_SPECIAL.test(value)) return value;
  return value
    .replace(/\n/g, REPLACEMENT)
    .replace(/\\(?=[,= ]|$)/g, REPLACEMENT)
    .replace(/[,= ]/g, '\\$&');
}

/** A field key: as a tag, and a backslash before '"' replaced too. */
export function escapeFieldKey(name: string): string {
  if (!TAG_SPECIAL.test(name)) return name;
  return name
    .replace(/\n/g, REPLACEMENT)
    .replace(/\\(?=[,= "]|$)/g, REPLACEMENT)
    .replace(/[,= ]/g, '\\$&');
}

/** A measurement name. */
export function escapeMeasurement(name: string): string {
  if (!MEASUREMENT_SPECIAL.test(name)) return name;
  return name
    .replace(/\n/g, REPLACEMENT)
    .replace(/\\(?=[, ]|$)/g, REPLACEMENT)
    .replace(/[, ]/g, '\\$&');
}

/** A string field value, quoted. */
export function quoteString(value: string): string {
  return `"${value.replace(/["\\]/g, '\\$&')}"`;
}
