// A learned model on disk with its optional parts: the other members of an ensemble under members/<i>/, the
// coarse time scale's model under coarse/ and the transformed scale's under transform/ (each laid out the same
// way; the transformed one's manifest names its input transform, so the model carries which scale it is). The
// artifact in the directory itself is an ordinary one (the first member, with the ensemble's calibration), so
// every tool that reads a single model still reads it.
import { existsSync } from 'node:fs';
import { readdir, rm } from 'node:fs/promises';
import * as path from 'node:path';
import { saveArtifact } from './artifact';
import { Detector } from './detector';
import { EnsembleDetector } from './ensemble';
import type { ModelUse } from './manifest';

const MEMBERS_DIR = 'members';
const COARSE_DIR = 'coarse';
const TRANSFORM_DIR = 'transform';

/** A learned model's detectors of the scales besides its own (each present when it was learned). */
export interface LearnedScales {
  /** The coarse time scale's detector (calibration.likelihood.coarse_pool). */
  readonly coarse?: Detector;
  /** The transformed scale's detector (calibration.likelihood.transform_scale). */
  readonly transformed?: Detector;
  /** The stream's period in samples, from the model's manifest (calibration.likelihood.period_baseline). */
  readonly period?: number;
}

export interface LearnedModel extends LearnedScales {
  readonly detector: Detector;
}

/** The scales of a loaded learned model, and its period, for the stream's score filter (app/scaleFilters.ts). */
export function scalesOfLearned(model: LearnedModel): LearnedScales {
  const { coarse, transformed } = model;
  const period = model.detector.manifest.period;
  return { ...(coarse ? { coarse } : {}), ...(transformed ? { transformed } : {}), ...(period !== undefined ? { period } : {}) };
}

export async function saveLearnedModel(dir: string, model: LearnedModel): Promise<void> {
  await saveOne(dir, model.detector);
  // A model learned again without a scale must not inherit the old one's.
  for (const [sub, part] of [[COARSE_DIR, model.coarse], [TRANSFORM_DIR, model.transformed]] as const) {
    if (part) await saveOne(path.join(dir, sub), part);
    else await rm(path.join(dir, sub), { recursive: true, force: true });
  }
}

export async function loadLearnedModel(dir: string, use?: ModelUse): Promise<LearnedModel> {
  const detector = await loadOne(dir, use);
  const loaded: Detector[] = [detector];
  const part = async (sub: string): Promise<Detector | undefined> => {
    const partDir = path.join(dir, sub);
    if (!existsSync(partDir)) return undefined;
    const d = await loadOne(partDir, use);
    loaded.push(d);
    return d;
  };
  try {
    const coarse = await part(COARSE_DIR);
    const transformed = await part(TRANSFORM_DIR);
    return { detector, ...(coarse ? { coarse } : {}), ...(transformed ? { transformed } : {}) };
  } catch (err) {
    for (const d of loaded) d.dispose();
    throw err;
  }
}

/**
 * The learned model's own detector (with its ensemble members) without its extra scales: a promoted version
 * replaces the model's detector only, and loading the scales too left them undisposed.
 */
export async function loadLearnedDetector(dir: string, use?: ModelUse): Promise<Detector> {
  return loadOne(dir, use);
}

async function saveOne(dir: string, detector: Detector): Promise<void> {
  const membersDir = path.join(dir, MEMBERS_DIR);
  await rm(membersDir, { recursive: true, force: true });
  if (!(detector instanceof EnsembleDetector)) {
    await saveArtifact(dir, detector.model, detector.manifest);
    return;
  }
  await saveArtifact(dir, detector.members[0].model, detector.manifest);
  for (const [i, m] of detector.members.entries()) if (i > 0) await saveArtifact(path.join(membersDir, String(i)), m.model, m.manifest);
}

async function loadOne(dir: string, use?: ModelUse): Promise<Detector> {
  const first = await Detector.load(dir, use);
  const membersDir = path.join(dir, MEMBERS_DIR);
  if (!existsSync(membersDir)) return first;
  const members = [first];
  try {
    const names = (await readdir(membersDir)).filter((n) => /^\d+$/.test(n)).sort((a, b) => Number(a) - Number(b));
    for (const n of names) members.push(await Detector.load(path.join(membersDir, n), use));
  } catch (err) {
    for (const m of members) m.dispose();
    throw err;
  }
  return new EnsembleDetector(members, first.manifest);
}
