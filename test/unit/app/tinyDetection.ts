// The detection settings of the auto-learning tests: a one-layer network on 8-sample windows that trains in a
// moment, loaded through the daemon's own config loader from a file in `dir`.
import { writeFile } from 'node:fs/promises';
import * as path from 'node:path';
import { loadDetectionConfig } from '../../../src/app/configFiles';
import type { DetectionConfig } from '../../../src/config/schema';

export async function tinyDetection(dir: string): Promise<DetectionConfig> {
  const file = path.join(dir, 'detection.yaml');
  await writeFile(
    file,
    `defaults:
  window: { size: 8, hop: 4, max_gap_ms: 3600000, min_completeness: 0.5 }
  training: { encoder_units: [8], latent_units: 2, epochs: 3, batch_size: 8, validation_fraction: 0, patience: 0, seed: 1, ensemble: 1 }
  calibration: { method: percentile, percentile: 99 }
`,
  );
  return loadDetectionConfig(file);
}
