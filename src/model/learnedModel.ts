// A learned model on disk with its optional parts: the other members of an ensemble under members/<i>/, and
// the coarse time scale's model under coarse/ (laid out the same way). The artifact in the directory itself is
// an ordinary one (the first member, with the ensemble's calibration), so every tool that reads a single
// model still reads it.
import { existsSync } from 'node:fs';
import { readdir, rm } from 'node:fs/promises';
import * as path from 'node:path';
import { saveArtifact } from './artifact';
import { Detector } from './detector';
import { EnsembleDetector } from './ensemble';
import type { ModelUse } from './manifest';

const MEMBERS_DIR = 'members';
const COARSE_DIR = 'coarse';

export interface LearnedModel {
  readonly detector: Detector;
  /** The coarse time scale's detector, when one was learned. */
  readonly coarse?: Detector;
}

export async function saveLearnedModel(dir: string, model: LearnedModel): Promise<void> {
  await saveOne(dir, model.detector);
  const coarseDir = path.join(dir, COARSE_DIR);
  // A model learned again without a coarse scale must not inherit the old one's.
  if (model.coarse) await saveOne(coarseDir, model.coarse);
  else await rm(coarseDir, { recursive: true, force: true });
}

export async function loadLearnedModel(dir: string, use?: ModelUse): Promise<LearnedModel> {
  const detector = await loadOne(dir, use);
  const coarseDir = path.join(dir, COARSE_DIR);
  if (!existsSync(coarseDir)) return { detector };
  try {
    return { detector, coarse: await loadOne(coarseDir, use) };
  } catch (err) {
    detector.dispose();
    throw err;
  }
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
