import { describe, it } from 'node:test';
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { PassThrough } from 'node:stream';
import { DEFAULT_CONFIG_FILE, validateCommand, type ConfigCheck } from '../../../src/cli/validate';
import { tempDir } from './helpers';

async function run(args: string[], checks: ConfigCheck[] = []): Promise<{ code: number; stdout: string; stderr: string }> {
  const stdout = new PassThrough();
  const stderr = new PassThrough();
  const out: Buffer[] = [];
  const err: Buffer[] = [];
  stdout.on('data', (chunk: Buffer) => out.push(chunk));
  stderr.on('data', (chunk: Buffer) => err.push(chunk));
  const code = await validateCommand(args, { stdout, stderr, checks });
  return { code, stdout: Buffer.concat(out).toString(), stderr: Buffer.concat(err).toString() };
}

function write(text: string): string {
  const file = path.join(tempDir(), 'anomalyd.yaml');
  fs.writeFileSync(file, text);
  return file;
}

describe('anomalyd validate', () => {
  it('prints OK and returns 0 for a valid file', async () => {
    const file = write('http:\n  port: 9000\n');
    assert.deepEqual(await run(['-c', file]), { code: 0, stdout: `OK: ${file}\n`, stderr: '' });
    assert.deepEqual(await run(['--config', file]), { code: 0, stdout: `OK: ${file}\n`, stderr: '' });
  });

  it('prints every problem on stderr, one per line, and returns 1', async () => {
    const file = write('http:\n  port: -1\n  hots: x\n');
    const result = await run(['-c', file]);
    assert.equal(result.code, 1);
    assert.equal(result.stdout, '');
    assert.deepEqual(result.stderr.trimEnd().split('\n'), [
      `${file}: http.hots: unknown key; did you mean "host"? (got "x")`,
      `${file}: http.port: must be >= 0 (got -1)`,
    ]);
  });

  it('--json prints one object on stdout', async () => {
    const bad = write('log:\n  format: xml\n');
    const result = await run(['-c', bad, '--json']);
    assert.equal(result.code, 1);
    assert.deepEqual(JSON.parse(result.stdout), { file: bad, ok: false, problems: ['log.format: must be one of text, json (got "xml")'], warnings: [] });
    const good = write('{}\n');
    const ok = await run(['--json', '-c', good]);
    assert.equal(ok.code, 0);
    assert.deepEqual(JSON.parse(ok.stdout), { file: good, ok: true, problems: [], warnings: [] });
  });

  it('prints warnings on stderr and still returns 0: an InfluxDB buffer smaller than 4 queues', async () => {
    const file = write('queues:\n  capacity: 1000\nsinks:\n  influx:\n    url: http://127.0.0.1:8086/anomalyd\n    buffer_max_points: 3999\n');
    const warning = 'sinks.influx.buffer_max_points: is below 4 x queues.capacity (4000): a burst from the queues feeding the sink can drop points as overflow before the spool takes them (got 3999)';
    assert.deepEqual(await run(['-c', file]), { code: 0, stdout: `OK: ${file}\n`, stderr: `${file}: warning: ${warning}\n` });
    const json = await run(['-c', file, '--json']);
    assert.equal(json.code, 0);
    assert.deepEqual(JSON.parse(json.stdout), { file, ok: true, problems: [], warnings: [warning] });
    // At 4 x capacity there is nothing to say.
    const enough = write('queues:\n  capacity: 1000\nsinks:\n  influx:\n    url: http://127.0.0.1:8086/anomalyd\n    buffer_max_points: 4000\n');
    assert.deepEqual(await run(['-c', enough]), { code: 0, stdout: `OK: ${enough}\n`, stderr: '' });
  });

  it('runs the extra checks only on a valid configuration and reports their problems', async () => {
    const file = write('models:\n  pump:\n    path: /nonexistent/pump\n');
    const seen: string[] = [];
    const check: ConfigCheck = (config) => {
      seen.push(Object.keys(config.models).join(','));
      return Promise.resolve(['models.pump.path: is not a model directory (got "/nonexistent/pump")']);
    };
    const result = await run(['-c', file], [check]);
    assert.equal(result.code, 1);
    assert.deepEqual(seen, ['pump']);
    assert.equal(result.stderr, `${file}: models.pump.path: is not a model directory (got "/nonexistent/pump")\n`);
  });

  it('returns 2 on a usage error', async () => {
    const result = await run(['--bogus']);
    assert.equal(result.code, 2);
    assert.match(result.stderr, /Usage: anomalyd validate/);
  });

  it('defaults to config/default.yaml of the package', () => {
    assert.ok(path.isAbsolute(DEFAULT_CONFIG_FILE));
    assert.equal(path.basename(DEFAULT_CONFIG_FILE), 'default.yaml');
    assert.equal(path.basename(path.dirname(DEFAULT_CONFIG_FILE)), 'config');
  });
});
