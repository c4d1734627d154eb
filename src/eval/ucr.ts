// Reader for UCR Time Series Archive text files: one series a line, the class label first, then the values.
// Fields are separated by runs of whitespace (the classic archive) or by commas (some re-exports); the last
// line may lack a newline (ECG200). Every row must have as many fields as the first one.
import { readFile } from 'node:fs/promises';
import { errorMessage, InputError } from '../core/errors';

export interface UcrDataset {
  file: string;
  /** Class label of each row, as written (UCR labels are float-formatted integers, e.g. 1, -1, 5). */
  labels: number[];
  /** The values of each row, without the label. */
  rows: Float32Array[];
  /** Values per row (fields per line minus the label). */
  length: number;
}

// Duplicated in sources/csv.ts on purpose: eval and sources are siblings and do not import each other.
const NUMBER_RE = /^[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?$/;
const NON_FINITE_RE = /^[+-]?(?:nan|inf|infinity)$/i;

export async function readUcr(path: string): Promise<UcrDataset> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (err) {
    throw new InputError(`${path}: cannot read file: ${errorMessage(err)}`);
  }
  return parseUcr(text, path);
}

export function parseUcr(text: string, file: string): UcrDataset {
  if (text.charCodeAt(0) === 0xfeff) text = text.slice(1);
  const lines = text.split('\n');
  const labels: number[] = [];
  const rows: Float32Array[] = [];
  let fieldCount = 0;
  for (let i = 0; i < lines.length; i++) {
    const content = lines[i].trim();
    if (content === '') continue;
    const lineNo = i + 1;
    const cells = content.includes(',') ? content.split(',').map((c) => c.trim()) : content.split(/\s+/);
    if (fieldCount === 0) {
      if (cells.length < 2) {
        throw new InputError(`${file}:${lineNo}: expected a label and at least one value, got ${cells.length} field`);
      }
      fieldCount = cells.length;
    } else if (cells.length !== fieldCount) {
      throw new InputError(`${file}:${lineNo}: expected ${fieldCount} fields, got ${cells.length}`);
    }
    labels.push(parseField(cells[0], file, lineNo, 1));
    const row = new Float32Array(fieldCount - 1);
    for (let c = 1; c < fieldCount; c++) row[c - 1] = parseField(cells[c], file, lineNo, c + 1);
    rows.push(row);
  }
  if (rows.length === 0) throw new InputError(`${file}: empty file (no data rows)`);
  return { file, labels, rows, length: fieldCount - 1 };
}

/** `column` is 1-based; column 1 is the label. */
function parseField(raw: string, file: string, line: number, column: number): number {
  if (NUMBER_RE.test(raw)) return Number(raw);
  const what = column === 1 ? 'column 1 (label)' : `column ${column}`;
  if (NON_FINITE_RE.test(raw)) {
    throw new InputError(`${file}:${line}: ${what}: ${JSON.stringify(raw)} is not a finite number`);
  }
  const shown = raw === '' ? 'an empty field' : JSON.stringify(raw);
  throw new InputError(`${file}:${line}: ${what}: ${shown} is not a number`);
}
