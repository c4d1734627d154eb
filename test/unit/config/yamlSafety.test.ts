import { describe, it } from 'node:test';
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { ConfigError } from '../../../src/core/errors';
import { MAX_CONFIG_BYTES, loadConfigFile, loadConfigText } from '../../../src/config/load';
import { problemsOf, tempDir } from './helpers';

describe('hardened YAML', () => {
  it('rejects a file over 1 MiB before parsing it', async () => {
    const file = path.join(tempDir(), 'big.yaml');
    // Valid YAML all the way (a long comment), so only the size can be the reason.
    const text = `# ${'x'.repeat(MAX_CONFIG_BYTES)}\nhttp:\n  port: 1\n`;
    fs.writeFileSync(file, text);
    await assert.rejects(loadConfigFile(file, {}), (err: unknown) => {
      assert.ok(err instanceof ConfigError);
      assert.equal(err.file, file);
      assert.deepEqual(err.problems, [`(file): is larger than the 1 MiB limit (got ${Buffer.byteLength(text)} bytes)`]);
      return true;
    });
    assert.throws(() => loadConfigText(`# ${'x'.repeat(MAX_CONFIG_BYTES)}\n`, 'big.yaml', {}), /larger than the 1 MiB limit/);
  });

  it('accepts a file of exactly 1 MiB', async () => {
    const file = path.join(tempDir(), 'full.yaml');
    const body = 'http:\n  port: 8000\n#';
    fs.writeFileSync(file, body + 'x'.repeat(MAX_CONFIG_BYTES - body.length));
    assert.equal(fs.statSync(file).size, MAX_CONFIG_BYTES);
    const config = await loadConfigFile(file, {});
    assert.equal(config.http.port, 8000);
  });

  it('reports an unreadable file as a configuration error', async () => {
    await assert.rejects(loadConfigFile('/nonexistent/anomalyd.yaml', {}), (err: unknown) => {
      assert.ok(err instanceof ConfigError);
      assert.deepEqual(err.problems, ['(file): cannot be read (ENOENT)']);
      return true;
    });
  });

  it('rejects a file that is not UTF-8', async () => {
    const file = path.join(tempDir(), 'latin1.yaml');
    fs.writeFileSync(file, Buffer.from([0x73, 0x74, 0x61, 0x74, 0x65, 0x5f, 0x64, 0x69, 0x72, 0x3a, 0x20, 0xe9, 0x0a]));
    await assert.rejects(loadConfigFile(file, {}), (err: unknown) => {
      assert.ok(err instanceof ConfigError);
      assert.deepEqual(err.problems, ['(file): is not valid UTF-8 text']);
      return true;
    });
  });

  // The bound is on alias expansions, not on time: reaching the message proves the expansion stopped at 50.
  it('rejects a billion-laughs alias bomb at the expansion limit', () => {
    const lines = ['a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]'];
    const names = 'abcdefghi';
    for (let i = 1; i < names.length; i++) {
      const prev = names[i - 1] ?? '';
      lines.push(`${names[i] ?? ''}: &${names[i] ?? ''} [${Array<string>(9).fill(`*${prev}`).join(', ')}]`);
    }
    const problems = problemsOf(`${lines.join('\n')}\n`);
    assert.deepEqual(problems, ['(file): too many alias expansions (limit 50); anchors and aliases are for small repeated blocks']);
  });

  it('still allows a small anchor reused a few times', () => {
    const text = [
      'defaults:',
      '  window: &w',
      '    size: 32',
      '    hop: 8',
      'subscriptions:',
      '  - topic: a/+/t',
      '    template: a/{id}/t',
      '    stream: "{id}"',
      '    decoder: json',
      '    channels: &ch [x, y]',
      '    window: *w',
      '  - topic: b/+/t',
      '    template: b/{id}/t',
      '    stream: "b-{id}"',
      '    decoder: csv',
      '    channels: *ch',
    ].join('\n');
    const config = loadConfigText(text, 'x.yaml', {});
    assert.deepEqual(config.subscriptions[1]?.channels, ['x', 'y']);
    assert.deepEqual(config.subscriptions[0]?.window, { size: 32, hop: 8 });
    // The aliased window was not filled with defaults through the shared object.
    assert.deepEqual(config.defaults.window, { size: 32, hop: 8, max_gap_ms: 10000, max_lateness_ms: 0, min_completeness: 0.9 });
  });

  it('rejects custom and non-core tags', () => {
    assert.deepEqual(problemsOf('state_dir: !include other.yaml\n'), ['line 1, column 12: Unresolved tag: !include']);
    const onlyPlain = 'only plain strings, numbers, booleans, lists and mappings are allowed';
    assert.deepEqual(problemsOf('state_dir: !!binary aGVsbG8=\n'), [`state_dir: uses the tag tag:yaml.org,2002:binary; ${onlyPlain}`]);
    assert.deepEqual(problemsOf('subscriptions: !!set {a, b}\n'), [`subscriptions: uses the tag tag:yaml.org,2002:set; ${onlyPlain}`]);
    assert.deepEqual(problemsOf('%TAG !e! tag:example.com,2000:\n---\nstate_dir: !e!x y\n'), [
      'line 3, column 12: Unresolved tag: tag:example.com,2000:x',
      '(file): YAML directives (%YAML, %TAG) are not supported; files are read as YAML 1.2',
    ]);
    // Explicit core tags are plain data and stay allowed.
    assert.equal(loadConfigText('state_dir: !!str 123\n', '/etc/x.yaml', {}).state_dir, '/etc/123');
  });

  it('rejects merge keys', () => {
    const text = 'base: &b\n  port: 1\nhttp:\n  <<: *b\n  host: 0.0.0.0\n';
    assert.deepEqual(problemsOf(text), ['http["<<"]: merge keys (<<) are not supported; repeat the settings or use `defaults`']);
  });

  it('rejects __proto__, constructor and prototype keys anywhere, without polluting Object.prototype', () => {
    assert.deepEqual(problemsOf('http:\n  __proto__:\n    polluted: yes\n'), ['http.__proto__: is a reserved key name and is not allowed']);
    assert.deepEqual(problemsOf('subscriptions:\n  - constructor:\n      prototype: 1\n'), [
      'subscriptions[0].constructor: is a reserved key name and is not allowed',
    ]);
    assert.deepEqual(problemsOf('"__proto__": {isAdmin: true}\n'), ['__proto__: is a reserved key name and is not allowed']);
    const probe: Record<string, unknown> = {};
    assert.equal(probe['polluted'], undefined);
    assert.equal(probe['isAdmin'], undefined);
    assert.equal(Object.prototype.hasOwnProperty.call(Object.prototype, 'polluted'), false);
  });

  it('rejects duplicate keys, several documents and YAML 1.1 directives', () => {
    assert.deepEqual(problemsOf('http:\n  port: 1\n  port: 2\n'), ['line 3, column 3: Map keys must be unique']);
    assert.equal(problemsOf('http: {}\n---\nhttp: {}\n').length, 1);
    assert.deepEqual(problemsOf('%YAML 1.1\n---\nhttp: {}\n'), ['(file): YAML directives (%YAML, %TAG) are not supported; files are read as YAML 1.2']);
  });

  it('reads yes/no/on/off as strings (YAML 1.2), so they fail where a boolean is expected', () => {
    assert.deepEqual(problemsOf('http:\n  enabled: yes\n'), ['http.enabled: must be true or false (got "yes")']);
  });

  it('reports only the first syntax error, without quoting the source text', () => {
    const problems = problemsOf('http:\n  host: "s3cr3t" trailing\n  port: [1\n');
    assert.equal(problems.length, 1);
    assert.match(problems[0] ?? '', /^line 2, column \d+: /);
    assert.equal((problems[0] ?? '').includes('s3cr3t'), false);
  });

  it('rejects a document that is not a mapping', () => {
    assert.deepEqual(problemsOf('- a\n- b\n'), ['(root): must be a mapping of sections (got a list of 2 item(s))']);
    assert.deepEqual(problemsOf('just text\n'), ['(root): must be a mapping of sections (got "just text")']);
  });
});
