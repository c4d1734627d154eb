'use strict';
// The candidate configurations of the study scripts (crossValidate.js, nabSeedStudy.js): a shipped benchmark
// profile with a few keys set by dotted path, or removed where the value is null.

/** A copy of `base` with each `set` entry ('a.b.c': value) written, or deleted where the value is null. */
function withOverrides(base, set) {
  const copy = structuredClone(base);
  for (const [key, value] of Object.entries(set)) {
    const parts = key.split('.');
    let node = copy;
    for (const p of parts.slice(0, -1)) node = node[p] ??= {};
    if (value === null) delete node[parts[parts.length - 1]];
    else node[parts[parts.length - 1]] = value;
  }
  return copy;
}

module.exports = { withOverrides };
