// Ajv validation against the JSON Schema. Ajv fills in defaults and coerces numeric strings (a port written as
// `${HTTP_PORT:-9464}` arrives as a string); its errors are rewritten as `path: message (got value)` lines.
import type { ErrorObject } from 'ajv';
import { closest } from '../core/didYouMean';
import { patternMessages } from './schemaHelpers';
import type { ProblemList, Segment } from './problems';
import { schemaValidator } from './schemaValidator';

/** Validates and completes `data` in place; returns false when problems were added. */
export function checkSchema(data: unknown, problems: ProblemList): boolean {
  const validate = schemaValidator();
  if (validate(data)) return true;
  for (const error of validate.errors ?? []) report(error, data, problems);
  return false;
}

function report(error: ErrorObject, root: unknown, problems: ProblemList): void {
  const at = pointerToPath(error.instancePath, root);
  const params = error.params as Record<string, unknown>;
  if (error.propertyName !== undefined) {
    // A map key (model or header name) failing its `propertyNames` rule.
    if (error.keyword === 'pattern') {
      const message = patternMessages.get(String(params['pattern'])) ?? `must match ${String(params['pattern'])}`;
      problems.add([...at, error.propertyName], `invalid name: ${message}`, error.propertyName);
    }
    return;
  }
  switch (error.keyword) {
    case 'propertyNames':
      return; // reported through the nested error that carries `propertyName`
    case 'additionalProperties': {
      const key = String(params['additionalProperty']);
      const known = Object.keys((error.parentSchema?.['properties'] as Record<string, unknown> | undefined) ?? {});
      const hint = closest(key, known);
      problems.add([...at, key], `unknown key${hint ? `; did you mean "${hint}"?` : ''}`, valueAt(root, [...at, key]));
      return;
    }
    case 'required':
      problems.add([...at, String(params['missingProperty'])], 'is required', undefined);
      return;
    case 'enum':
      problems.add(at, `must be one of ${(params['allowedValues'] as unknown[]).map((v) => String(v)).join(', ')}`, error.data);
      return;
    case 'type':
      problems.add(at, `must be ${article(String(params['type']))}`, error.data);
      return;
    case 'pattern':
      problems.add(at, patternMessages.get(String(params['pattern'])) ?? `must match ${String(params['pattern'])}`, error.data);
      return;
    case 'minLength':
      problems.add(at, params['limit'] === 1 ? 'must not be empty' : `must have at least ${String(params['limit'])} characters`, error.data);
      return;
    case 'maxLength':
      problems.add(at, `must have at most ${String(params['limit'])} characters`, error.data);
      return;
    case 'minItems':
      problems.add(at, `must have at least ${String(params['limit'])} item(s)`, error.data);
      return;
    case 'maxItems':
      problems.add(at, `must have at most ${String(params['limit'])} item(s)`, error.data);
      return;
    case 'uniqueItems':
      problems.add(at, `must not repeat items (items ${String(params['j'])} and ${String(params['i'])} are equal)`, error.data);
      return;
    default:
      problems.add(at, (error.message ?? 'is invalid').replace(/^must NOT/, 'must not'), error.data);
  }
}

function article(type: string): string {
  const names: Record<string, string> = {
    integer: 'an integer',
    number: 'a number',
    string: 'a string',
    boolean: 'true or false',
    object: 'a mapping',
    array: 'a list',
  };
  return names[type] ?? type;
}

/** JSON pointer -> path segments; array indices become numbers, map keys stay strings (even "123"). */
function pointerToPath(pointer: string, root: unknown): Segment[] {
  if (pointer === '') return [];
  const out: Segment[] = [];
  let node: unknown = root;
  for (const raw of pointer.slice(1).split('/')) {
    const key = raw.replace(/~1/g, '/').replace(/~0/g, '~');
    if (Array.isArray(node)) {
      const index = Number(key);
      out.push(index);
      node = node[index];
    } else {
      out.push(key);
      node = node !== null && typeof node === 'object' ? (node as Record<string, unknown>)[key] : undefined;
    }
  }
  return out;
}

function valueAt(root: unknown, path: readonly Segment[]): unknown {
  let node = root;
  for (const seg of path) {
    if (node === null || typeof node !== 'object') return undefined;
    node = (node as Record<string | number, unknown>)[seg];
  }
  return node;
}
