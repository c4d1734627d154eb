// Learned-model folders: one per stream id, whatever its characters. `l1/p0` and `l1 /p0` collided under the old
// naming (non-name characters replaced by "_"), so the second stream's model overwrote the first's. Here both
// streams learn (in the worker, as in the daemon), each gets its folder, and a restart loads two models; a
// folder of the old naming is renamed and loads under its stream's name.
import assert from 'node:assert/strict';
import { cp, mkdtemp, readFile, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { after, before, test } from 'node:test';
import { AutoLearner } from '../../../src/app/autoLearner';
import { detectorSpec, windowOptions } from '../../../src/app/detection';
import { learnedModelDirName } from '../../../src/app/learnedDirs';
import { ModelRegistry } from '../../../src/app/models';
import type { DetectionConfig } from '../../../src/config/schema';
import type { Window } from '../../../src/core/types';
import { selectBackend } from '../../../src/model/backend';
import type { Detector } from '../../../src/model/detector';
import type { StreamBinding } from '../../../src/pipeline/pipeline';
import { testContext } from '../../helpers/context';
import { tinyDetection } from './tinyDetection';

const IDS = ['l1/p0', 'l1 /p0'] as const;
let dir: string;
let detection: DetectionConfig;

before(async () => {
  await selectBackend();
  dir = await mkdtemp(path.join(tmpdir(), 'anomalyd-learned-dirs-'));
  detection = await tinyDetection(dir);
});

after(async () => {
  await rm(dir, { recursive: true, force: true });
});

test('the folder name is a readable prefix and a hash of the exact id', () => {
  const [a, b] = IDS.map(learnedModelDirName);
  assert.notEqual(a, b);
  assert.match(a, /^l1_p0-[0-9a-f]{12}$/);
  assert.match(b, /^l1_p0-[0-9a-f]{12}$/);
  // Pinned: folders written by this version must be found by the next.
  assert.equal(learnedModelDirName('plant/line1/pump1'), 'plant_line1_pump1-47f65c54a7dd');
  assert.equal(learnedModelDirName('Pump'), learnedModelDirName('Pump'));
  assert.notEqual(learnedModelDirName('Pump'), learnedModelDirName('pump'));
  assert.notEqual(learnedModelDirName('a'.repeat(128)), learnedModelDirName('a'.repeat(127) + 'b'));
  assert.ok(learnedModelDirName('x'.repeat(128)).length <= 48 + 13);
  assert.match(learnedModelDirName('..'), /^_\.-[0-9a-f]{12}$/);
});

function binding(id: string): StreamBinding {
  return { spec: { id, channels: ['v'] }, model: `auto:${id}`, window: windowOptions(detection.window), labels: {} } as unknown as StreamBinding;
}

/** 40 windows of 8 one-channel samples: a sine, shifted per stream so the two models differ. */
function windows(id: string, shift: number): Window[] {
  return Array.from({ length: 40 }, (_, w) => {
    const values = Float32Array.from({ length: 8 }, (_, t) => Math.sin((w * 4 + t) / 3) + shift);
    return { stream: id, start: w * 4000, end: w * 4000 + 7000, size: 8, channels: 1, values, completeness: 1 };
  });
}

test('two stream ids that shared a folder learn two models, and a restart loads both', async () => {
  const modelsDir = path.join(dir, 'models');
  const t = testContext('learner');
  const learned = new Map<string, Detector>();
  let done!: () => void;
  const both = new Promise<void>((r) => (done = r));
  const learner = new AutoLearner(t.ctx, {
    windows: 40,
    modelsDir,
    backend: 'auto',
    specFor: (b) => detectorSpec(detection, b.model, b.spec, 'test', 'test'),
    onLearned: (model, detector) => {
      learned.set(model, detector);
      if (learned.size === IDS.length) done();
    },
  });
  try {
    IDS.forEach((id, k) => {
      for (const w of windows(id, k * 10)) learner.offer(binding(id), w);
    });
    await both;
    assert.deepEqual([...learned.keys()].sort(), IDS.map((id) => `auto:${id}`).sort());
    const folders = (await readdir(modelsDir)).sort();
    assert.deepEqual(folders, IDS.map(learnedModelDirName).sort());
    for (const id of IDS) {
      const manifest = JSON.parse(await readFile(path.join(modelsDir, learnedModelDirName(id), 'manifest.json'), 'utf8')) as { stream: string };
      assert.equal(manifest.stream, id);
    }

    const registry = new ModelRegistry(testContext('models').ctx, 'test');
    await registry.loadLearned(modelsDir);
    const [a, b] = IDS.map((id) => registry.get(`auto:${id}`));
    assert.ok(a && b, 'both models load after a restart');
    assert.equal(a.manifest.stream, IDS[0]);
    assert.equal(b.manifest.stream, IDS[1]);
    assert.notDeepEqual(a.manifest.scaler, b.manifest.scaler, 'each stream has its own model');
  } finally {
    t.abort.abort();
    for (const d of learned.values()) d.dispose();
  }
});

test('a folder of the old naming is renamed and loads under the stream its manifest names; a newer one wins', async () => {
  const modelsDir = path.join(dir, 'models');
  const oldDir = path.join(dir, 'old');
  // What the old naming wrote: auto:l1/p0 -> auto_l1_p0 (and auto:l1 /p0 to the same folder).
  await cp(path.join(modelsDir, learnedModelDirName(IDS[0])), path.join(oldDir, 'auto_l1_p0'), { recursive: true });
  const t = testContext('models');
  const registry = new ModelRegistry(t.ctx, 'test');
  await registry.loadLearned(oldDir);
  assert.deepEqual(await readdir(oldDir), [learnedModelDirName(IDS[0])]);
  assert.equal(registry.get(`auto:${IDS[0]}`)?.manifest.stream, IDS[0]);
  assert.ok(t.logs.some((l) => l.msg.startsWith('Renamed a learned model folder')));

  // Both namings present (the stream learned again after the upgrade): the new folder is loaded, the old one is
  // left alone with a warning.
  await cp(path.join(modelsDir, learnedModelDirName(IDS[1])), path.join(oldDir, 'auto_l1_p0'), { recursive: true });
  const manifestFile = path.join(oldDir, 'auto_l1_p0', 'manifest.json');
  const manifest = JSON.parse(await readFile(manifestFile, 'utf8')) as { stream: string };
  await writeFile(manifestFile, JSON.stringify({ ...manifest, stream: IDS[0] }));
  const t2 = testContext('models');
  const again = new ModelRegistry(t2.ctx, 'test');
  await again.loadLearned(oldDir);
  assert.deepEqual((await readdir(oldDir)).sort(), ['auto_l1_p0', learnedModelDirName(IDS[0])].sort());
  assert.equal(again.get(`auto:${IDS[0]}`)?.dir, path.join(oldDir, learnedModelDirName(IDS[0])));
  assert.ok(t2.logs.some((l) => l.level === 'warn' && l.msg.startsWith('Ignoring a learned model folder of the old naming')));
});
