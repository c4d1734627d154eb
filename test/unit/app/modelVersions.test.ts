// The model version store with a runtime of plain objects (loading real artifacts is the registry's and the
// integration test's business): candidates are copied in and shadow, promote and rollback change the live
// version and are saved before they answer, a new store reads them back, refusals change nothing, a damaged
// index is set aside.
import assert from 'node:assert/strict';
import { mkdir, mkdtemp, readdir, readFile, writeFile } from 'node:fs/promises';
import * as os from 'node:os';
import * as path from 'node:path';
import { test } from 'node:test';
import { ModelVersions, shapeProblem, type CandidateMeta, type VersionRuntime } from '../../../src/app/modelVersions';
import type { ShadowScoring } from '../../../src/app/modelVersionsShadow';
import { learnedModelDirName } from '../../../src/app/learnedDirs';
import type { Detector } from '../../../src/model/detector';
import type { AuditEvent } from '../../../src/telemetry/operatorApi';
import { MODEL_VERSIONS_DIR, VERSION_INDEX_FILE } from '../../../src/state/modelVersionsFile';
import { testContext } from '../../helpers/context';

const T = Date.parse('2026-12-10T05:00:00Z');
const META: CandidateMeta = { trigger: 'drift', stream: 'line1/pump1', dataHash: 'ab'.repeat(32), windows: 500, from: T - 7 * 86_400_000, to: T, metrics: { epochs: 20, final_loss: 0.01 } };

/** A stand-in detector: the store reads only its manifest's channels and window, and its folder. */
function fake(dir: string, channels = ['a', 'b'], size = 30): Detector {
  return { dir, manifest: { channels, window: { size, samplePeriodMs: 1000 } } } as unknown as Detector;
}

interface Rig {
  readonly stateDir: string;
  readonly base: string;
  readonly installed: { model: string; version: string; dir: string }[];
  readonly audit: AuditEvent[];
  versions: ModelVersions;
  open(): Promise<ModelVersions>;
}

async function rig(stateDir?: string, opts: { channels?: string[]; failLoad?: string } = {}): Promise<Rig> {
  const root = stateDir ?? (await mkdtemp(path.join(os.tmpdir(), 'anomalyd-versions-')));
  const base = path.join(root, 'configured-pump');
  await mkdir(base, { recursive: true });
  const installed: Rig['installed'] = [];
  const audit: AuditEvent[] = [];
  let live = fake(base);
  const runtime: VersionRuntime = {
    baseDir: (model) => (model === 'pump' ? base : undefined),
    load: (_model, version, dir) => (version === opts.failLoad ? Promise.reject(new Error('weights.bin: truncated')) : Promise.resolve(fake(dir, opts.channels))),
    live: () => live,
    names: () => ['pump'],
    install: (model, version, dir, detector) => {
      installed.push({ model, version, dir });
      live = detector;
    },
  };
  const open = async (): Promise<ModelVersions> => {
    const v = new ModelVersions({ stateDir: root, log: testContext('versions').ctx.log, now: () => T, audit: (e) => audit.push(e) });
    await v.load();
    v.attach(runtime);
    return v;
  };
  const r: Rig = { stateDir: root, base, installed, audit, versions: await open(), open };
  return r;
}

async function candidate(root: string, name: string): Promise<string> {
  const dir = path.join(root, name);
  await mkdir(dir, { recursive: true });
  await writeFile(path.join(dir, 'manifest.json'), '{"format":1}');
  await writeFile(path.join(dir, 'weights.bin'), Buffer.from([1, 2, 3]));
  return dir;
}

test('a candidate is copied into the store as v2 with its manifest and starts in shadow; a second one replaces it as shadow', async () => {
  const r = await rig();
  // What a kill during an earlier copy left: a half copy under a temporary name, and v2 not in the index.
  const modelDir = path.join(r.stateDir, MODEL_VERSIONS_DIR, learnedModelDirName('pump'));
  await mkdir(path.join(modelDir, 'v2.tmp-99999'), { recursive: true });
  await mkdir(path.join(modelDir, 'v2'), { recursive: true });
  await writeFile(path.join(modelDir, 'v2', 'stale.bin'), 'x');
  const info = await r.versions.addCandidate('pump', await candidate(r.stateDir, 'cand-a'), META);
  assert.equal(info.version, 'v2');
  assert.equal(info.role, 'shadow');
  assert.equal(r.versions.shadowVersion('pump'), 'v2');
  assert.equal(r.versions.liveVersion('pump'), 'v1');
  const stored = (await readdir(info.dir)).sort();
  assert.deepEqual(stored, ['manifest.json', 'version.json', 'weights.bin']);
  const manifest = JSON.parse(await readFile(path.join(info.dir, 'version.json'), 'utf8')) as Record<string, unknown>;
  assert.deepEqual([manifest['model'], manifest['version'], manifest['trigger'], manifest['dataHash'], manifest['windows']], ['pump', 'v2', 'drift', META.dataHash, 500]);
  assert.equal(info.dir, path.join(modelDir, 'v2'));
  assert.deepEqual((await readdir(modelDir)).sort(), ['v2'], 'the leftovers are gone');
  const second = await r.versions.addCandidate('pump', await candidate(r.stateDir, 'cand-b'), { ...META, trigger: 'schedule' });
  assert.equal(second.version, 'v3');
  assert.equal(r.versions.shadowVersion('pump'), 'v3');
  const [listed] = (await r.versions.list()).models;
  assert.deepEqual(listed.versions.map((v) => [v.version, v.role]), [['v3', 'shadow'], ['v2', null], ['v1', 'live']]);
  assert.equal(listed.versions[2].trigger, 'configured');
  assert.equal(listed.versions[2].dir, r.base);
});

test('promote (default the shadow) and rollback switch the live version, are saved and audited, and a new store reads them back', async () => {
  const r = await rig();
  await r.versions.addCandidate('pump', await candidate(r.stateDir, 'cand'), META);
  const promoted = await r.versions.promote('pump', undefined, 'admin');
  assert.deepEqual(promoted, { model: 'pump', live: 'v2', previous: 'v1' });
  assert.equal(r.versions.shadowVersion('pump'), null, 'the promoted shadow is no longer a shadow');
  assert.deepEqual(r.installed.map((i) => i.version), ['v2']);
  assert.deepEqual(r.audit, [{ who: 'admin', action: 'model_promote', target: 'pump', detail: 'v2 live (was v1)' }]);

  const reopened = await r.open();
  assert.equal(reopened.liveVersion('pump'), 'v2');
  assert.deepEqual(reopened.liveOf('pump'), { version: 'v2', dir: path.join(r.stateDir, MODEL_VERSIONS_DIR, (await readdir(path.join(r.stateDir, MODEL_VERSIONS_DIR))).find((d) => d !== VERSION_INDEX_FILE) ?? '', 'v2') });

  const back = await reopened.rollback('pump', 'admin');
  assert.deepEqual(back, { model: 'pump', live: 'v1', previous: 'v2' });
  assert.equal(r.installed[1].dir, r.base, 'v1 is the configured artifact where it is');
  assert.equal((await r.open()).liveOf('pump'), undefined, 'v1 live needs nothing from the store');
  assert.deepEqual(await reopened.rollback('pump', 'admin'), { refused: 'conflict', reason: "model 'pump' has no earlier live version to roll back to (live: v1)" });
  assert.deepEqual(await reopened.promote('pump', 'v2', 'admin'), { model: 'pump', live: 'v2', previous: 'v1' }, 'any stored version can be promoted by name');
});

test('refusals: unknown model or version (unknown), nothing to promote, already live, a version that does not load (conflict); none changes anything', async () => {
  const r = await rig(undefined, { failLoad: 'v3' });
  assert.equal((await r.versions.promote('nope', undefined, 'admin') as { refused: string }).refused, 'unknown');
  assert.equal((await r.versions.rollback('nope', 'admin') as { refused: string }).refused, 'unknown');
  assert.match((await r.versions.promote('pump', undefined, 'admin') as { reason: string }).reason, /no shadow version to promote/);
  assert.equal((await r.versions.promote('pump', 'v9', 'admin') as { refused: string }).refused, 'unknown');
  assert.match((await r.versions.promote('pump', 'v1', 'admin') as { reason: string }).reason, /already the live version/);
  await assert.rejects(r.versions.addCandidate('nope', await candidate(r.stateDir, 'c0'), META), /unknown model 'nope'/);
  await r.versions.addCandidate('pump', await candidate(r.stateDir, 'c1'), META);
  await assert.rejects(r.versions.addCandidate('pump', await candidate(r.stateDir, 'c2'), META), /weights\.bin: truncated/);
  assert.equal(r.versions.shadowVersion('pump'), 'v2', 'a candidate that does not load leaves the shadow as it was');
  assert.equal(r.installed.length, 0);
  assert.equal(r.audit.length, 0);
});

test('a candidate that takes other windows than the live model is refused and not kept', async () => {
  const r = await rig(undefined, { channels: ['a', 'c'] });
  await assert.rejects(r.versions.addCandidate('pump', await candidate(r.stateDir, 'c'), META), /does not take the live model's windows: channels: live \[a, b\], candidate \[a, c\]/);
  assert.equal(r.versions.shadowVersion('pump'), null);
  assert.deepEqual((await r.versions.list()).models[0].versions.map((v) => v.version), ['v1']);
  assert.equal(shapeProblem({ channels: ['a'], window: { size: 30 } } as never, { channels: ['a'], window: { size: 60 } } as never), 'window size: live 30, candidate 60');
});

test('a damaged index is set aside and reported; every model starts on v1', async () => {
  const r = await rig();
  await r.versions.addCandidate('pump', await candidate(r.stateDir, 'c'), META);
  await r.versions.promote('pump', 'v2', 'admin');
  const file = path.join(r.stateDir, MODEL_VERSIONS_DIR, VERSION_INDEX_FILE);
  await writeFile(file, '{"format":1,"models":{"pump":{"live":"v7"');
  const ctx = testContext('versions');
  const v = new ModelVersions({ stateDir: r.stateDir, log: ctx.ctx.log, now: () => T });
  await v.load();
  assert.equal(v.liveVersion('pump'), 'v1');
  assert.ok(ctx.logs.some((l) => l.level === 'error' && /model version index is damaged/.test(l.msg)));
  assert.ok((await readdir(path.dirname(file))).some((f) => f.startsWith(`${VERSION_INDEX_FILE}.corrupt-`)));
  // An index naming a version it does not store is damaged too.
  await writeFile(file, JSON.stringify({ format: 1, models: { pump: { live: 'v3', shadow: null, shadowSince: null, history: [], next: 4, versions: [] } } }));
  const w = new ModelVersions({ stateDir: r.stateDir, log: ctx.ctx.log, now: () => T });
  await w.load();
  assert.equal(w.liveVersion('pump'), 'v1');
});

test("the shadow's counts are saved with the index and handed back to the restarted shadow; a new candidate or a live change drops them", async () => {
  const r = await rig();
  await r.versions.addCandidate('pump', await candidate(r.stateDir, 'c'), META);
  const stats = { version: 'v2', since: T, windows: 120, dropped: 0, liveEpisodes: 2, episodes: [{ stream: 'l1/p1', start: T + 1000, end: null }], at: T + 5000 };
  const restored: unknown[] = [];
  const restarted: string[] = [];
  const shadow = { set: (_m: string, _v: string, _d: unknown, _s: number, saved?: unknown) => restored.push(saved), stats: () => stats, versionOf: () => 'v2', record: () => undefined, restartCounts: (m: string) => restarted.push(m) } as unknown as ShadowScoring;
  const withShadow = async (): Promise<ModelVersions> => {
    const v = new ModelVersions({ stateDir: r.stateDir, log: testContext('versions').ctx.log, now: () => T + 5000 });
    await v.load();
    v.attach({ baseDir: () => r.base, load: (_m, _v, dir) => Promise.resolve(fake(dir)), live: () => fake(r.base), shadow, install: () => undefined });
    return v;
  };
  const first = await withShadow();
  await first.startShadows();
  assert.deepEqual(restored, [undefined], 'nothing saved yet');
  await first.stop();
  const second = await withShadow();
  await second.startShadows();
  await second.stop();
  assert.deepEqual(restored[1], stats);
  // A new candidate is a new shadow: no counts. Promoting another version keeps the shadow, its counts restart.
  await second.addCandidate('pump', await candidate(r.stateDir, 'c3'), META);
  await second.stop();
  await second.promote('pump', 'v2', 'admin');
  assert.deepEqual(restarted, ['pump']);
  const third = await withShadow();
  await third.startShadows();
  await third.stop();
  assert.deepEqual(restored.slice(2), [undefined, undefined], 'neither v3 after its addition nor after the live change has counts to take over');
});

test('the list holds every configured model and model with versions, and up to 100 learned models with only v1 (the rest counted)', async () => {
  const r = await rig();
  const learned = Array.from({ length: 150 }, (_, i) => `auto:line1/p${String(i).padStart(3, '0')}`);
  const v = new ModelVersions({ stateDir: r.stateDir, log: testContext('versions').ctx.log, now: () => T });
  await v.load();
  v.attach({ baseDir: (m) => (m === 'pump' || m.startsWith('auto:') ? r.base : undefined), load: (_m, _v, dir) => Promise.resolve(fake(dir)), live: (m) => fake(m === 'pump' ? r.base : `/learned/${m}`), names: () => ['pump', ...learned] });
  await v.addCandidate('auto:line1/p149', await candidate(r.stateDir, 'c'), META);
  const { models, learnedNotListed } = await v.list();
  assert.equal(learnedNotListed, 49);
  assert.equal(models.length, 102);
  assert.ok(models.some((m) => m.name === 'pump'));
  assert.deepEqual(models.find((m) => m.name === 'auto:line1/p149')?.versions.map((x) => [x.version, x.trigger]), [['v2', 'drift'], ['v1', 'learned']]);
});
