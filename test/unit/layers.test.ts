// The layer rules of eslint.layers.mjs fire: planted imports that point up, sideways, at a package outside the
// room that wraps it, or round in a cycle are errors, and the imports the layers allow are not. Linted with the
// layer rules alone (no type information), as if the code were a file at the given path.
import assert from 'node:assert/strict';
import * as path from 'node:path';
import { test } from 'node:test';
import { ESLint } from 'eslint';

const ROOT = path.resolve(__dirname, '../../..');
const eslint = new ESLint({ cwd: ROOT, overrideConfigFile: path.join(ROOT, 'eslint.layers.mjs') });

/** The rule ids of the errors `code` gets as the file `file` (relative to the repository). */
async function errors(file: string, code: string): Promise<string[]> {
  const [result] = await eslint.lintText(code, { filePath: path.join(ROOT, file) });
  return result.messages.filter((m) => m.severity === 2).map((m) => `${m.ruleId ?? 'parse'}: ${m.message}`);
}

const BAD: readonly (readonly [file: string, code: string, why: string])[] = [
  ['src/core/planted.ts', "import type { Source } from '../sources/source';\nexport type S = Source;\n", 'core importing a room'],
  ['src/core/planted.ts', "import { readFileSync } from 'node:fs';\nexport const read = readFileSync;\n", 'core importing a built-in'],
  ['src/core/planted.ts', "import { parse } from 'yaml';\nexport const p = parse;\n", 'core importing a package'],
  ['src/pipeline/planted.ts', "import { Daemon } from '../app/daemon';\nexport const D = Daemon;\n", 'pipeline importing app (up)'],
  ['src/pipeline/planted.ts', "import type { Detector } from '../model/detector';\nexport type D = Detector;\n", 'pipeline importing model (sideways)'],
  ['src/state/planted.ts', "import type { Sink } from '../sinks/sink';\nexport type S = Sink;\n", 'state importing sinks (sideways)'],
  ['src/app/planted.ts', "import { replayThroughPipeline } from '../offline/streamReplay';\nexport const r = replayThroughPipeline;\n", 'app importing offline (up)'],
  ['src/cli/planted.ts', "import '../main';\n", 'cli importing the entry point'],
  ['src/sinks/planted.ts', "import mqtt from 'mqtt';\nexport const m = mqtt;\n", 'mqtt outside sources'],
  ['src/sinks/planted.ts', "export async function broker(): Promise<unknown> {\n  return import('aedes');\n}\n", 'aedes (dynamic import) outside sources'],
  ['src/sinks/planted.ts', "import { InfluxDB } from 'influx';\nexport const I = InfluxDB;\n", 'influx outside sinks/influx'],
  ['src/app/planted.ts', "import * as tf from '@tensorflow/tfjs';\nexport const t = tf;\n", 'tfjs outside model'],
  ['src/state/planted.ts', "import { Gauge } from 'prom-client';\nexport const G = Gauge;\n", 'prom-client outside telemetry'],
  ['src/main.ts', "import { Registry } from 'prom-client';\nexport const R = Registry;\n", 'prom-client in the entry point'],
  // stats.ts as if it imported calibration.ts, which imports stats.ts.
  ['src/core/stats.ts', "import { calibrate } from './calibration';\nexport const c = calibrate;\n", 'an import cycle'],
];

for (const [file, code, why] of BAD) {
  test(`lint fails on ${why}`, async () => {
    const found = await errors(file, code);
    assert.equal(found.length, 1, `${file}:\n${code}\n-> ${found.join('\n') || 'no error'}`);
  });
}

const GOOD: readonly (readonly [file: string, code: string])[] = [
  ['src/core/planted.ts', "import type { Sample } from './types';\nexport type S = Sample;\n"],
  ['src/pipeline/planted.ts', "import type { Sink } from '../core/sink';\nimport { BoundedQueue } from './boundedQueue';\nexport type S = Sink;\nexport const Q = BoundedQueue;\n"],
  ['src/app/planted.ts', "import { Pipeline } from '../pipeline/pipeline';\nimport { Detector } from '../model/detector';\nexport const P = [Pipeline, Detector];\n"],
  ['src/cli/planted.ts', "import { Daemon } from '../app/daemon';\nimport { replayThroughPipeline } from '../offline/streamReplay';\nexport const d = [Daemon, replayThroughPipeline];\n"],
  ['src/sources/planted.ts', "import mqtt from 'mqtt';\nimport { readFile } from 'node:fs/promises';\nexport const m = [mqtt, readFile];\n"],
  ['src/sinks/influx/planted.ts', "import { InfluxDB } from 'influx';\nexport const I = InfluxDB;\n"],
  ['src/model/planted.ts', "import * as tf from '@tensorflow/tfjs';\nexport const t = tf;\n"],
  ['src/telemetry/planted.ts', "import { Registry } from 'prom-client';\nexport const R = Registry;\n"],
];

test('lint passes the imports the layers allow', async () => {
  for (const [file, code] of GOOD) assert.deepEqual(await errors(file, code), [], `${file}:\n${code}`);
});
