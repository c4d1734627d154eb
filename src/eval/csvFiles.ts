// The one directory walker of the dataset readers: CSV files under a folder, in natural order at each level
// (valve1/2.csv before valve1/10.csv), so every reader lists a dataset the same way on every platform.
import { readdir } from 'node:fs/promises';
import * as path from 'node:path';
import { errorMessage, InputError } from '../core/errors';

/** CSV files under `dir`, at most `depth` folder levels down (1 = `dir` itself only; default: any depth). */
export async function csvFiles(dir: string, depth = Infinity): Promise<string[]> {
  let entries;
  try {
    entries = await readdir(dir, { withFileTypes: true });
  } catch (err) {
    throw new InputError(`${dir}: cannot read folder: ${errorMessage(err)}`);
  }
  const out: string[] = [];
  const sorted = entries.sort((a, b) => a.name.localeCompare(b.name, 'en', { numeric: true }));
  for (const e of sorted) {
    const p = path.join(dir, e.name);
    if (e.isDirectory() && depth > 1) out.push(...(await csvFiles(p, depth - 1)));
    else if (e.isFile() && e.name.endsWith('.csv')) out.push(p);
  }
  return out;
}
