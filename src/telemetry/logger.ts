// Structured logging to stderr (stdout belongs to command output such as `--json`). Style: a capitalised
// sentence with a final period (eslint.idioms.mjs checks it), identifiers quoted, context as fields; nothing per
// message above debug.

import type { Log, LogFields } from '../core/context';

export type { LogFields } from '../core/context';
export type LogLevel = 'error' | 'warn' | 'info' | 'debug';
export type LogFormat = 'text' | 'json';

/** The components' Log (core/context.ts), whose children are Loggers too. */
export interface Logger extends Log {
  child(fields: LogFields): Logger;
  /** Sets the level of this logger and of every logger derived from the same root (config reload). */
  setLevel(level: LogLevel): void;
  /** Adds secret values to scrub, for this logger and its relatives (a reloaded config may bring new ones). */
  redactAlso(secrets: readonly string[]): void;
}

const RANK: Record<LogLevel, number> = { error: 0, warn: 1, info: 2, debug: 3 };

export interface LoggerOptions {
  readonly level: LogLevel;
  readonly format: LogFormat;
  readonly write?: (line: string) => void;
  /**
   * Secret values (webhook secrets, passwords, tokens) replaced by [REDACTED] wherever they appear in a
   * message or a field, e.g. inside an error detail that echoes a URL with credentials.
   */
  readonly redact?: readonly string[];
  /** Field names whose values are always printed as [REDACTED] (case-insensitive), e.g. 'password'. */
  readonly redactFields?: readonly string[];
}

export const REDACTED = '[REDACTED]';

/** A function that removes the given secrets from a text; identity when there are none. */
export function redactor(secrets: readonly string[]): (s: string) => string {
  // Longest first, so a secret that contains another is removed whole. Empty strings would match everywhere.
  const list = [...new Set(secrets.filter((x) => x.length > 0))].sort((a, b) => b.length - a.length);
  if (list.length === 0) return (s) => s;
  return (s) => list.reduce((acc, secret) => (acc.includes(secret) ? acc.split(secret).join(REDACTED) : acc), s);
}

// Characters that must not reach a log line as they are: C0/C1 controls (a newline forges a line, ESC drives the
// terminal), line/paragraph separators, and the bidi controls that make a line read other than it is
// ("Trojan Source"). Topics and payload excerpts come from anyone who can publish to the broker.
const UNSAFE = /[\u0000-\u001f\u007f-\u009f\u061c\u200e\u200f\u2028\u2029\u202a-\u202e\u2066-\u2069]/;
const UNSAFE_ALL = new RegExp(UNSAFE.source, 'g');
const escapeChar = (c: string): string => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`;

/** `s` with every unsafe character written as a \uXXXX escape (the message text of a line). */
export function escapeUnsafe(s: string): string {
  return UNSAFE.test(s) ? s.replace(UNSAFE_ALL, escapeChar) : s;
}

/** A JSON text with the unsafe characters JSON.stringify leaves raw (C1 controls, bidi, U+2028/9) escaped too. */
function safeJson(value: unknown): string {
  return escapeUnsafe(JSON.stringify(value));
}

/** A text-format field value: bare when plain, else quoted with JSON's escapes (and escapeUnsafe's). */
function textValue(v: string): string {
  return /\s/.test(v) || UNSAFE.test(v) ? safeJson(v) : v;
}

export function createLogger(opts: LoggerOptions, base: LogFields = {}): Logger {
  // Shared by the root and all its children, so a reload's level and secrets reach every component's logger.
  let secrets = [...(opts.redact ?? [])];
  const shared = { level: opts.level, clean: redactor(secrets) };
  const write = opts.write ?? ((line: string) => process.stderr.write(line + '\n'));
  const hidden = new Set((opts.redactFields ?? []).map((k) => k.toLowerCase()));
  const make = (fieldsOfLogger: LogFields): Logger => {
    const emit = (level: LogLevel, rawMsg: string, fields: LogFields = {}): void => {
      if (RANK[level] > RANK[shared.level]) return;
      const { clean } = shared;
      const msg = clean(rawMsg);
      const all: Record<string, string | number | boolean | null | undefined> = {};
      for (const [k, v] of Object.entries({ ...fieldsOfLogger, ...fields })) {
        all[k] = hidden.has(k.toLowerCase()) && v !== undefined && v !== null ? REDACTED : typeof v === 'string' ? clean(v) : v;
      }
      if (opts.format === 'json') {
        write(safeJson({ time: new Date().toISOString(), level, msg, ...all }));
        return;
      }
      const ctx = Object.entries(all)
        .filter(([, v]) => v !== undefined)
        .map(([k, v]) => `${k}=${typeof v === 'string' ? textValue(v) : String(v)}`)
        .join(' ');
      write(`${new Date().toISOString()} ${level.toUpperCase().padEnd(5)} ${escapeUnsafe(msg)}${ctx ? ' ' + ctx : ''}`);
    };
    return {
      error: (m, f) => emit('error', m, f),
      warn: (m, f) => emit('warn', m, f),
      info: (m, f) => emit('info', m, f),
      debug: (m, f) => emit('debug', m, f),
      child: (fields) => make({ ...fieldsOfLogger, ...fields }),
      setLevel: (level) => {
        shared.level = level;
      },
      redactAlso: (more) => {
        secrets = [...new Set([...secrets, ...more])];
        shared.clean = redactor(secrets);
      },
    };
  };
  return make(base);
}

/** Level from ANOMALYD_LOG_LEVEL for commands that run before (or without) a config file. */
export function levelFromEnv(fallback: LogLevel = 'info'): LogLevel {
  const v = process.env.ANOMALYD_LOG_LEVEL;
  return v === 'error' || v === 'warn' || v === 'info' || v === 'debug' ? v : fallback;
}
