// Every configuration problem is one line `path: message (got value)`. This file owns the path syntax
// (`subscriptions[0].decoder`, `models["pump.v2"].path`) and the value rendering, including redaction: values
// under secret-looking keys, under `headers`, or read from a `*_file` are shown as <redacted>.

export type Segment = string | number;
export type ConfigPath = readonly Segment[];

export function formatPath(path: ConfigPath): string {
  if (path.length === 0) return '(root)';
  let out = '';
  for (const seg of path) {
    if (typeof seg === 'number') out += `[${seg}]`;
    else if (/^[A-Za-z_][A-Za-z0-9_]*$/.test(seg)) out += out === '' ? seg : `.${seg}`;
    else out += `[${JSON.stringify(seg)}]`;
  }
  return out;
}

const SECRET_KEY = /pass|secret|token|auth|credential|cookie|api_?key|private/i;

export function isSecretKey(key: string): boolean {
  return SECRET_KEY.test(key) && !key.endsWith('_file');
}

/** What must never appear in a problem line: paths holding secrets and the secret values themselves. */
export class Redactions {
  private readonly paths = new Set<string>();
  private readonly values = new Set<string>();

  addSecret(path: ConfigPath, value: string): void {
    this.paths.add(formatPath(path));
    if (value.length >= 3) this.values.add(value);
  }

  /** Registers every string stored under a secret-looking key (written inline or substituted from the environment). */
  collectInline(value: unknown, path: ConfigPath = []): void {
    if (typeof value === 'string') {
      if (this.isSecret(path) && value.length >= 3) this.values.add(value);
    } else if (Array.isArray(value)) {
      value.forEach((item, i) => this.collectInline(item, [...path, i]));
    } else if (value !== null && typeof value === 'object') {
      for (const [key, item] of Object.entries(value)) this.collectInline(item, [...path, key]);
    }
  }

  isSecret(path: ConfigPath): boolean {
    if (this.paths.has(formatPath(path))) return true;
    return path.some((seg, i) => typeof seg === 'string' && (isSecretKey(seg) || (seg === 'headers' && i < path.length - 1)));
  }

  /** Last line of defence: a known secret value that slipped into a message is masked anyway. */
  scrub(line: string): string {
    let out = line;
    for (const secret of this.values) out = out.split(JSON.stringify(secret)).join('<redacted>').split(secret).join('<redacted>');
    return out;
  }
}

const MAX_SHOWN = 80;

export function formatValue(value: unknown): string {
  if (value === undefined) return 'nothing';
  if (value === null) return 'null';
  if (typeof value === 'string') {
    const masked = maskUrlPassword(value);
    const shown = masked.length > MAX_SHOWN ? `${masked.slice(0, MAX_SHOWN)}...` : masked;
    return JSON.stringify(shown);
  }
  if (typeof value === 'number' || typeof value === 'boolean') return String(value);
  if (Array.isArray(value)) return `a list of ${value.length} item(s)`;
  if (typeof value === 'object') {
    const keys = Object.keys(value);
    if (keys.length === 0) return 'an empty mapping';
    const listed = keys.slice(0, 5).join(', ');
    return `a mapping with keys ${listed}${keys.length > 5 ? ', ...' : ''}`;
  }
  return typeof value;
}

/** `https://user:pw@host` -> `https://user:<redacted>@host`: URLs from the environment often carry credentials. */
export function maskUrlPassword(text: string): string {
  return text.replace(/^([a-z][a-z0-9+.-]*:\/\/[^/@:\s]*:)[^/@\s]*@/i, '$1<redacted>@');
}

export class ProblemList {
  private readonly lines: string[] = [];
  private readonly seen = new Set<string>();
  private readonly pathsWithProblems = new Set<string>();
  private earlierPaths = new Set<string>();
  private pathMap: ((path: ConfigPath) => ConfigPath) | null = null;

  constructor(private readonly redactions: Redactions) {}

  /** From now on, problem paths go through `map` (entries the loader made stand for a place in the file). */
  mapPaths(map: (path: ConfigPath) => ConfigPath): void {
    this.pathMap = map;
  }

  /** Adds `path: message (got value)`; pass `noValue` when there is nothing meaningful to show. */
  add(at: ConfigPath, message: string, value?: unknown, noValue = false): void {
    const path = this.pathMap ? this.pathMap(at) : at;
    let got = '';
    if (!noValue) got = this.redactions.isSecret(path) && value !== undefined ? ' (got <redacted>)' : ` (got ${formatValue(value)})`;
    this.push(formatPath(path), `${formatPath(path)}: ${message}${got}`);
  }

  /** A problem located by text position rather than by configuration path (YAML syntax, file size). */
  addAt(where: string, message: string): void {
    this.push(where, `${where}: ${message}`);
  }

  /** From now on, problems at paths that already have one are dropped (one root cause, one line). */
  startPhase(): void {
    this.earlierPaths = new Set(this.pathsWithProblems);
  }

  get count(): number {
    return this.lines.length;
  }

  toArray(): string[] {
    return this.lines.map((line) => this.redactions.scrub(line));
  }

  private push(key: string, line: string): void {
    if (this.seen.has(line) || this.earlierPaths.has(key)) return;
    this.seen.add(line);
    this.pathsWithProblems.add(key);
    this.lines.push(line);
  }
}
