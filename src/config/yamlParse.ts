// Hardened YAML reading: YAML 1.2 core schema only, every warning is an error (so unknown tags such as
// `!include` or `!!binary` fail instead of degrading to strings), merge keys and prototype-polluting key names
// are refused, nesting is bounded and alias expansion is capped (billion-laughs documents fail fast).
import { LineCounter, isAlias, isMap, isPair, isScalar, isSeq, parseDocument, type Node } from 'yaml';
import { errorMessage } from '../core/errors';
import type { ProblemList, Segment } from './problems';

/** Alias resolutions allowed, weighted by the size of what they expand to (the `yaml` package's measure). */
export const MAX_ALIAS_COUNT = 50;
export const MAX_DEPTH = 32;
const FORBIDDEN_KEYS = new Set(['__proto__', 'constructor', 'prototype']);
/** `yaml` resolves !!binary, !!set, !!omap, !!timestamp... even under the core schema; only plain data passes. */
const ALLOWED_TAGS = new Set(['str', 'int', 'float', 'bool', 'null', 'map', 'seq'].map((t) => `tag:yaml.org,2002:${t}`));

/** Parses `text` into plain data; returns undefined (with problems added) when the document is not acceptable. */
export function parseYaml(text: string, problems: ProblemList): unknown {
  const lineCounter = new LineCounter();
  const at = (offset: number): string => {
    const { line, col } = lineCounter.linePos(offset);
    return `line ${line}, column ${col}`;
  };
  let doc;
  try {
    doc = parseDocument(text, {
      lineCounter,
      prettyErrors: false,
      merge: false,
      uniqueKeys: true,
      strict: true,
      schema: 'core',
      version: '1.2',
      customTags: [],
      keepSourceTokens: false,
    });
  } catch (err) {
    problems.addAt('(file)', `cannot be parsed as YAML: ${errorText(err)}`);
    return undefined;
  }
  // After the first syntax error the parser's further errors are mostly its consequences: report that one.
  for (const issue of [...doc.errors.slice(0, 1), ...doc.warnings]) {
    problems.addAt(at(issue.pos[0]), sanitize(issue.message));
  }
  const directives = doc.directives;
  if (directives?.yaml.explicit || Object.keys(directives?.tags ?? {}).some((handle) => handle !== '!' && handle !== '!!')) {
    problems.addAt('(file)', 'YAML directives (%YAML, %TAG) are not supported; files are read as YAML 1.2');
  }
  if (problems.count > 0) return undefined;

  const before = problems.count;
  checkNode(doc.contents, [], 0, problems, at);
  if (problems.count > before) return undefined;

  try {
    return doc.toJS({ maxAliasCount: MAX_ALIAS_COUNT });
  } catch (err) {
    const message = err instanceof ReferenceError && /alias/i.test(err.message)
      ? `too many alias expansions (limit ${MAX_ALIAS_COUNT}); anchors and aliases are for small repeated blocks`
      : `cannot be converted: ${errorText(err)}`;
    problems.addAt('(file)', message);
    return undefined;
  }
}

function checkNode(node: Node | null, path: Segment[], depth: number, problems: ProblemList, at: (offset: number) => string): void {
  if (node === null) return;
  if (depth > MAX_DEPTH) {
    problems.add(path, `is nested more than ${MAX_DEPTH} levels deep`, undefined, true);
    return;
  }
  if (node.tag !== undefined && !ALLOWED_TAGS.has(node.tag)) {
    problems.add(path, `uses the tag ${node.tag}; only plain strings, numbers, booleans, lists and mappings are allowed`, undefined, true);
    return;
  }
  if (isMap(node)) {
    for (const pair of node.items) {
      if (!isPair(pair)) continue;
      const keyNode = pair.key as Node | null;
      if (!isScalar(keyNode)) {
        const where = keyNode?.range ? at(keyNode.range[0]) : 'unknown position';
        problems.add(path, `has a key that is not a plain value (${where}); keys must be names`, undefined, true);
        continue;
      }
      const key = String(keyNode.value);
      const keyPath = [...path, key];
      if (key === '<<') {
        problems.add(keyPath, 'merge keys (<<) are not supported; repeat the settings or use `defaults`', undefined, true);
      } else if (FORBIDDEN_KEYS.has(key)) {
        problems.add(keyPath, 'is a reserved key name and is not allowed', undefined, true);
      } else {
        checkNode(pair.value as Node | null, keyPath, depth + 1, problems, at);
      }
    }
  } else if (isSeq(node)) {
    node.items.forEach((item, i) => checkNode(item as Node | null, [...path, i], depth + 1, problems, at));
  } else if (isScalar(node) && node.value === null && path.length > 0) {
    // Left alone, schema coercion would turn an empty value into 0 or "": an explicit mistake is better.
    problems.add(path, 'has no value; write one or remove the key to use the default', null);
  } else if (isAlias(node) || isScalar(node)) {
    return;
  }
}

/** The parser quotes the offending token, which may be a secret: keep the description, drop the token. */
function sanitize(message: string): string {
  return firstLine(message).replace(/:\s*(".*"|'.*')$/, '');
}

function firstLine(message: string): string {
  return message.split('\n')[0]?.trim() ?? message;
}

function errorText(err: unknown): string {
  return firstLine(errorMessage(err));
}
