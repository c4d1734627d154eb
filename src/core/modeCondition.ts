// Operating-mode conditions on a stream's own channels, e.g. `motor_current_a < 2` or
// `flow_m3h >= 40 and pressure_bar > 3`. Grammar (and binds tighter than or):
//
//   expr       := conjunction ("or" conjunction)*
//   conjunction:= term ("and" term)*
//   term       := "(" expr ")" | channel op number
//   op         := "<" | "<=" | ">" | ">=" | "==" | "!="
//
// Written by hand: the config must never be evaluated as code, and the grammar is small enough that a recursive
// descent parser with column-precise errors is shorter than adapting an expression library. A condition compiles
// to a closure over channel indexes, evaluated per sample without allocating. A NaN (missing) value makes its
// comparison false, `!=` included.

/** A parse error: `column` is 1-based into the condition text. */
export class ModeConditionError extends Error {
  constructor(
    readonly column: number,
    readonly reason: string,
  ) {
    super(`at column ${column}: ${reason}`);
    this.name = 'ModeConditionError';
  }
}

/** A compiled condition: true when the sample's values satisfy it. */
export type ModeTest = (values: ArrayLike<number>) => boolean;

type Op = '<' | '<=' | '>' | '>=' | '==' | '!=';

interface Token {
  readonly kind: 'name' | 'number' | 'op' | 'open' | 'close' | 'and' | 'or' | 'end';
  readonly text: string;
  /** 0-based offset in the condition text. */
  readonly at: number;
}

const NAME = /[A-Za-z_][A-Za-z0-9_]*/y;
const NUMBER = /[-+]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][-+]?\d+)?/y;
const OP = /<=|>=|==|!=|<|>/y;

function tokenize(text: string): Token[] {
  const out: Token[] = [];
  let i = 0;
  while (i < text.length) {
    const ch = text[i];
    if (ch === ' ' || ch === '\t') {
      i++;
      continue;
    }
    if (ch === '(' || ch === ')') {
      out.push({ kind: ch === '(' ? 'open' : 'close', text: ch, at: i });
      i++;
      continue;
    }
    const m = match(OP, text, i);
    if (m !== null) {
      out.push({ kind: 'op', text: m, at: i });
      i += m.length;
      continue;
    }
    const name = match(NAME, text, i);
    if (name !== null) {
      out.push({ kind: name === 'and' ? 'and' : name === 'or' ? 'or' : 'name', text: name, at: i });
      i += name.length;
      continue;
    }
    const number = match(NUMBER, text, i);
    if (number !== null) {
      out.push({ kind: 'number', text: number, at: i });
      i += number.length;
      continue;
    }
    throw new ModeConditionError(i + 1, `unexpected character '${ch}'`);
  }
  out.push({ kind: 'end', text: '', at: text.length });
  return out;
}

function match(re: RegExp, text: string, at: number): string | null {
  re.lastIndex = at;
  const m = re.exec(text);
  return m ? m[0] : null;
}

/**
 * Compiles `text` against the stream's channels (in their order). Throws ModeConditionError naming the column
 * of the first problem: a syntax error, or a channel that is not among `channels`.
 */
export function compileModeCondition(text: string, channels: readonly string[]): ModeTest {
  const tokens = tokenize(text);
  let pos = 0;
  const peek = (): Token => tokens[pos];
  const next = (): Token => tokens[pos++];
  const describe = (t: Token): string => (t.kind === 'end' ? 'the end of the condition' : `'${t.text}'`);

  const expr = (): ModeTest => {
    let left = conjunction();
    while (peek().kind === 'or') {
      next();
      const a = left;
      const b = conjunction();
      left = (v) => a(v) || b(v);
    }
    return left;
  };
  const conjunction = (): ModeTest => {
    let left = term();
    while (peek().kind === 'and') {
      next();
      const a = left;
      const b = term();
      left = (v) => a(v) && b(v);
    }
    return left;
  };
  const term = (): ModeTest => {
    const t = next();
    if (t.kind === 'open') {
      const inner = expr();
      const close = next();
      if (close.kind !== 'close') throw new ModeConditionError(close.at + 1, `expected ')' to close the '(' at column ${t.at + 1}, got ${describe(close)}`);
      return inner;
    }
    if (t.kind !== 'name') throw new ModeConditionError(t.at + 1, `expected a channel name or '(', got ${describe(t)}`);
    const index = channels.indexOf(t.text);
    if (index < 0) throw new ModeConditionError(t.at + 1, `'${t.text}' is not a channel of the stream (${channels.join(', ')})`);
    const op = next();
    if (op.kind !== 'op') throw new ModeConditionError(op.at + 1, `expected a comparison (< <= > >= == !=) after '${t.text}', got ${describe(op)}`);
    const num = next();
    if (num.kind !== 'number') throw new ModeConditionError(num.at + 1, `expected a number after '${op.text}', got ${describe(num)}`);
    const value = Number(num.text);
    if (!Number.isFinite(value)) throw new ModeConditionError(num.at + 1, `'${num.text}' is not a finite number`);
    return comparison(index, op.text as Op, value);
  };

  const test = expr();
  const rest = peek();
  if (rest.kind !== 'end') throw new ModeConditionError(rest.at + 1, `expected 'and', 'or' or the end of the condition, got ${describe(rest)}`);
  return test;
}

function comparison(i: number, op: Op, n: number): ModeTest {
  // `x === x` is false for NaN: a missing value satisfies no comparison.
  switch (op) {
    case '<':
      return (v) => v[i] < n;
    case '<=':
      return (v) => v[i] <= n;
    case '>':
      return (v) => v[i] > n;
    case '>=':
      return (v) => v[i] >= n;
    case '==':
      return (v) => v[i] === n;
    case '!=':
      return (v) => {
        const x = v[i];
        return x === x && x !== n;
      };
  }
}

/** The condition's problem as a message, or null when it compiles. */
export function modeConditionProblem(text: string, channels: readonly string[]): string | null {
  try {
    compileModeCondition(text, channels);
    return null;
  } catch (err) {
    if (err instanceof ModeConditionError) return err.message;
    throw err;
  }
}
