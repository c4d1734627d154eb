// A small parser of the Prometheus text exposition format, so tests assert on what a scraper actually sees.

export interface Sample {
  readonly name: string;
  readonly labels: Readonly<Record<string, string>>;
  readonly value: number;
}

export interface Family {
  readonly name: string;
  type: string;
  help: string;
  readonly samples: Sample[];
}

const SAMPLE = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})?\s+(\S+)$/;
const LABEL = /([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g;
const SUFFIXES = ['_bucket', '_sum', '_count'];

export function parseExposition(text: string): Map<string, Family> {
  const families = new Map<string, Family>();
  const family = (name: string): Family => {
    let f = families.get(name);
    if (!f) {
      f = { name, type: 'untyped', help: '', samples: [] };
      families.set(name, f);
    }
    return f;
  };
  for (const line of text.split('\n')) {
    if (line.startsWith('# HELP ')) {
      const [, name, ...help] = line.split(' ').slice(1);
      family(name ?? '').help = help.join(' ');
    } else if (line.startsWith('# TYPE ')) {
      const [name, type] = line.slice(7).split(' ');
      family(name).type = type;
    } else if (line.trim() !== '' && !line.startsWith('#')) {
      const m = SAMPLE.exec(line);
      if (!m) throw new Error(`Unparsable exposition line: ${line}`);
      const labels: Record<string, string> = {};
      for (const lm of (m[2] ?? '').matchAll(LABEL)) labels[lm[1]] = lm[2].replace(/\\(.)/g, (_s, c: string) => (c === 'n' ? '\n' : c));
      const base = SUFFIXES.reduce((n, s) => (n.endsWith(s) && families.get(n.slice(0, -s.length))?.type === 'histogram' ? n.slice(0, -s.length) : n), m[1]);
      family(base).samples.push({ name: m[1], labels, value: Number(m[3]) });
    }
  }
  return families;
}

/** The value of one sample; throws when absent so a missing series fails the test loudly. */
export function sampleValue(families: Map<string, Family>, name: string, labels: Record<string, string> = {}): number {
  for (const f of families.values()) {
    for (const s of f.samples) {
      if (s.name !== name) continue;
      const keys = Object.keys(s.labels);
      if (keys.length === Object.keys(labels).length && keys.every((k) => s.labels[k] === labels[k])) return s.value;
    }
  }
  throw new Error(`No sample ${name}${JSON.stringify(labels)}`);
}
