// `promtool check metrics` (Prometheus's own linter) on exposition text: the docs/design.md promise that the
// scraped /metrics passes it. promtool comes from the Debian package `prometheus`, installed when missing.
import { spawn } from 'node:child_process';
import { ensurePackage } from './ensurePackage';

export const PROMTOOL = '/usr/bin/promtool';

export interface PromtoolResult {
  /** promtool's exit code: 0 clean, 3 lint problems, 1 unparsable input. */
  readonly code: number;
  /** One entry per reported problem (empty when clean). */
  readonly problems: readonly string[];
  readonly output: string;
}

export function checkMetrics(text: string): Promise<PromtoolResult> {
  ensurePackage(PROMTOOL, 'prometheus');
  return new Promise((resolve, reject) => {
    const child = spawn(PROMTOOL, ['check', 'metrics'], { stdio: ['pipe', 'pipe', 'pipe'] });
    let output = '';
    child.stdout.on('data', (d: Buffer) => (output += d.toString()));
    child.stderr.on('data', (d: Buffer) => (output += d.toString()));
    child.on('error', reject);
    child.on('close', (code) => {
      const problems = output.split('\n').map((l) => l.trim()).filter((l) => l.length > 0);
      resolve({ code: code ?? -1, problems, output });
    });
    child.stdin.end(text);
  });
}
