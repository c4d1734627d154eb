// `${VAR}` / `${VAR:-default}` substitution in string values (never in keys, never in the YAML text, so an
// environment value cannot inject structure). `$${` writes a literal `${`. As in the shell, `:-` also applies
// when the variable is set but empty. The result is a fresh tree of plain objects, so YAML aliases no longer
// share objects that later steps fill in.
import type { ConfigPath, ProblemList } from './problems';

const TOKEN = /\$\$\{|\$\{([^}]*)\}|\$\{/g;
const INNER = /^([A-Za-z_][A-Za-z0-9_]*)(?::-(.*))?$/s;

export function substituteEnv(value: unknown, env: NodeJS.ProcessEnv, problems: ProblemList, path: ConfigPath = []): unknown {
  if (typeof value === 'string') return substituteString(value, env, problems, path);
  if (Array.isArray(value)) return value.map((item, i) => substituteEnv(item, env, problems, [...path, i]));
  if (value !== null && typeof value === 'object') {
    const out: Record<string, unknown> = {};
    for (const [key, item] of Object.entries(value)) {
      // defineProperty: even a key named "__proto__" (refused earlier anyway) would stay an own data property.
      Object.defineProperty(out, key, {
        value: substituteEnv(item, env, problems, [...path, key]),
        enumerable: true,
        writable: true,
        configurable: true,
      });
    }
    return out;
  }
  return value;
}

function substituteString(text: string, env: NodeJS.ProcessEnv, problems: ProblemList, path: ConfigPath): string {
  if (!text.includes('${')) return text;
  return text.replace(TOKEN, (match: string, inner: string | undefined) => {
    if (match === '$${') return '${';
    if (inner === undefined) {
      problems.add(path, 'has an unterminated "${"; write "$${" for a literal "${"', text);
      return match;
    }
    const parsed = INNER.exec(inner);
    if (!parsed) {
      problems.add(path, `has an invalid substitution "${match}"; use \${NAME} or \${NAME:-default}`, text);
      return match;
    }
    const name = parsed[1];
    const fallback = parsed[2];
    const actual = Object.prototype.hasOwnProperty.call(env, name) ? env[name] : undefined;
    if (fallback !== undefined) return actual === undefined || actual === '' ? fallback : actual;
    if (actual === undefined) {
      problems.add(path, `environment variable ${name} is not set (write \${${name}:-default} to give a default)`, text);
      return match;
    }
    return actual;
  });
}
