// Reading a small JSON file of the state directory that people's work went into (maintenance windows, alert
// labels): a missing file is a first start; a damaged one is set aside as `<file>.corrupt-<ms>` and reported,
// and the daemon starts without its content rather than not at all. `parse` turns the JSON into the content or
// throws to say it is not this file's.
import { readFile, rename } from 'node:fs/promises';
import type { Log } from '../core/context';
import { errorMessage } from '../core/errors';

export async function loadJsonState<T>(file: string, parse: (json: unknown) => T, empty: T, log: Log, damaged: string): Promise<T> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return empty;
    throw err;
  }
  try {
    return parse(JSON.parse(text));
  } catch (err) {
    const aside = `${file}.corrupt-${Date.now()}`;
    await rename(file, aside);
    log.error(damaged, { file, aside, error: errorMessage(err) });
    return empty;
  }
}
