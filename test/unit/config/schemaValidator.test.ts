import { describe, it } from 'node:test';
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import Ajv from 'ajv';
import { parse } from 'yaml';
import { toJsonSchema } from '../../../src/config/schema';
import { AJV_OPTIONS, COMPILED_VALIDATOR_FILE, pickValidator, schemaDigest, schemaValidator, schemaValidatorOrigin, type CompiledModule } from '../../../src/config/schemaValidator';
import { ROOT } from './helpers';

const CASES = [
  'log:\n  level: verbose\nhttp:\n  port: "70000"\n',
  'mqtt:\n  reconnect:\n    max_delay: 5000\n',
  'subscriptions:\n  - topic: a/+\n    decoder: nope\n    channels: []\n',
  'defaults:\n  window: { size: "30", hop: 5 }\n',
];

describe('the compiled configuration validator', () => {
  it('is the precompiled one in a built tree (npm run build / pretest generate it), compiled from the schema in force', () => {
    assert.equal(schemaValidatorOrigin(), 'precompiled');
    const compiled = path.join(ROOT, 'build', 'src', 'config', COMPILED_VALIDATOR_FILE);
    const text = fs.readFileSync(compiled, 'utf8');
    assert.ok(text.includes(schemaDigest(toJsonSchema())), 'the generated module carries the digest of the current schema');
  });

  it('judges, fills in and coerces exactly as the schema compiled at run time does', () => {
    const runtime = new Ajv(AJV_OPTIONS).compile(toJsonSchema());
    const pre = schemaValidator();
    const shipped = ['config/default.yaml', 'config/sparkplug.example.yaml'].map((f) => fs.readFileSync(path.join(ROOT, f), 'utf8'));
    for (const text of [...CASES, ...shipped]) {
      const a: unknown = parse(text) ?? {};
      const b: unknown = parse(text) ?? {};
      assert.equal(pre(a), runtime(b), text);
      assert.deepEqual(a, b, `defaults and coercions of:\n${text}`);
      const strip = (errs: typeof pre.errors) => (errs ?? []).map((e) => ({ path: e.instancePath, keyword: e.keyword, params: e.params, data: e.data }));
      assert.deepEqual(strip(pre.errors), strip(runtime.errors), text);
    }
  });

  it('a generated module compiled from another schema (a stale build), or none, gives way to a compile at run time', () => {
    const schema = toJsonSchema();
    const pre = schemaValidator();
    const stale = Object.assign((data: unknown) => pre(data), { schemaDigest: schemaDigest({ ...schema, title: 'an older schema' }) });
    const fresh = Object.assign((data: unknown) => pre(data), { schemaDigest: schemaDigest(schema) });
    assert.equal(pickValidator(schema, stale as unknown as CompiledModule).origin, 'compiled at run time');
    assert.equal(pickValidator(schema, undefined).origin, 'compiled at run time');
    const picked = pickValidator(schema, fresh as unknown as CompiledModule);
    assert.equal(picked.origin, 'precompiled');
    assert.equal(picked.validate, fresh);
    const runtime = pickValidator(schema, undefined).validate;
    assert.equal(runtime({ log: { level: 'verbose' } }), false);
    assert.equal(runtime({}), true);
  });
});
