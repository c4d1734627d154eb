// The rooms of src/ and which way their imports may point. `npm run lint` fails on an import that points up or
// sideways, on a package imported outside the room that wraps it, and on an import cycle.
// test/unit/layers.test.ts plants bad imports to prove each rule fires.
import { readdirSync } from 'node:fs';
import * as path from 'node:path';
import importX, { createNodeResolver } from 'eslint-plugin-import-x';
import tseslint from 'typescript-eslint';

const root = import.meta.dirname;

/**
 * Top first. A room may import the rooms of the layers below its own and its own files; the rooms of one layer
 * may not import each other. main.ts (the entry point) stands above everything.
 */
export const LAYERS = [
  ['main.ts'],
  ['cli'],
  ['eval'],
  ['offline'],
  ['app'],
  ['config', 'model', 'pipeline', 'sinks', 'sources', 'telemetry', 'state', 'simulator'],
  ['core'],
];

/** Packages only one room may import: the room that wraps them (paths under src/). */
export const OWNED_PACKAGES = {
  '@tensorflow': 'model',
  mqtt: 'sources',
  aedes: 'sources',
  'node-opcua-client': 'sources',
  'node-opcua-certificate-manager': 'sources',
  'node-opcua-crypto': 'sources',
  'node-opcua-debug': 'sources',
  influx: 'sinks/influx',
  'prom-client': 'telemetry',
  croner: 'config',
};

// A new folder in src/ must be given its place above: otherwise nothing would check its imports.
const placed = new Set(LAYERS.flat());
const unplaced = readdirSync(path.join(root, 'src')).filter((name) => !placed.has(name) && !name.endsWith('.d.ts'));
if (unplaced.length > 0) throw new Error(`eslint.layers.mjs: place ${unplaced.join(', ')} (in src/) in LAYERS`);

const layerOf = (room) => LAYERS.findIndex((layer) => layer.includes(room));
const describe = (layer) => LAYERS.slice(layer + 1).flat().join(', ');

/** One zone per room: everything in its own layer or above is off limits. */
const roomZones = LAYERS.flat()
  .filter((room) => room !== 'main.ts' && room !== 'core')
  .map((room) => {
    const layer = layerOf(room);
    return {
      target: `src/${room}`,
      from: LAYERS.slice(0, layer + 1).flat().filter((r) => r !== room).map((r) => `src/${r}`),
      message: `src/${room} may import only its own files and ${describe(layer)} (eslint.layers.mjs).`,
    };
  });

/**
 * The files outside the room `owner` (e.g. 'sinks/influx'), as globs: every sibling folder and every loose file
 * on the way down to it.
 */
function outside(owner) {
  const parts = owner.split('/');
  return parts.flatMap((part, depth) => {
    const dir = ['src', ...parts.slice(0, depth)].join('/');
    return [`${dir}/!(${part})/**`, `${dir}/*.ts`];
  });
}

const packageZones = Object.entries(OWNED_PACKAGES).map(([pkg, owner]) => ({
  target: outside(owner),
  from: `node_modules/${pkg}`,
  message: `${pkg} is wrapped by src/${owner}: import it there only (eslint.layers.mjs).`,
}));

export default [
  {
    files: ['src/**/*.ts'],
    languageOptions: { parser: tseslint.parser },
    plugins: { 'import-x': importX },
    settings: {
      'import-x/extensions': ['.ts', '.js'],
      'import-x/resolver-next': [createNodeResolver({ extensions: ['.ts', '.js', '.json', '.node'] })],
    },
    rules: {
      'import-x/no-restricted-paths': ['error', { basePath: root, zones: [...roomZones, ...packageZones] }],
      // Type-only imports do not count: they vanish from the compiled code, so they cannot deadlock a load.
      'import-x/no-cycle': ['error', { ignoreExternal: true }],
    },
  },
  {
    // core is pure: no I/O, no clock, no packages, not even node's built-ins; only its own (flat) folder.
    files: ['src/core/**/*.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        { patterns: [{ regex: '^(?!\\./[^/]+$)', message: 'src/core imports nothing but its own files (eslint.layers.mjs).' }] },
      ],
    },
  },
];
