// Reads an artifact's network (tfjs layers format: model.json topology, float32 weights) into a
// DenseAutoencoder without tfjs, for the native addon. Only the topology buildAutoencoder writes is read here: a
// functional model whose layers are an input layer and a chain of biased dense layers, each fed by the one
// before it, relu hidden and sigmoid output, float32 throughout. For anything else (another architecture,
// quantized or non-float32 weights) it returns undefined and the caller loads the model through tfjs, which
// reads every form tfjs writes. The weights are the bytes tfjs would read, so both paths hold the same values.
import { LATENT_LAYER } from './autoencoder';
import { DenseAutoencoder, weightIndex, type DenseActivation, type DenseChain, type ModelJsonHead, type WeightSpec } from './denseNetwork';

interface LayerJson {
  readonly class_name?: unknown;
  readonly name?: unknown;
  readonly config?: Readonly<Record<string, unknown>>;
  readonly inbound_nodes?: unknown;
}

interface TopologyJson {
  readonly class_name?: unknown;
  readonly config?: { readonly layers?: unknown; readonly input_layers?: unknown; readonly output_layers?: unknown };
}

/**
 * The network of a plain dense chain read from model.json and its weight bytes (already checked to be as long
 * as the specs say), or undefined when the model is of another form. Throws when the topology is a dense chain
 * but the weights do not fit it: tfjs would refuse those too.
 */
export function readDenseAutoencoder(head: ModelJsonHead, specs: readonly WeightSpec[], bytes: Buffer): DenseAutoencoder | undefined {
  const chain = denseChainOf(head.modelTopology);
  if (!chain || specs.some((s) => s.dtype !== 'float32' || s.quantization !== undefined)) return undefined;
  const shapes = expectedShapes(chain);
  const named = specs.map((s) => s.name);
  if (named.length !== shapes.size || new Set(named).size !== named.length || !named.every((n) => shapes.has(n))) {
    throw new Error(`its weights are [${named.join(', ')}], the layers need [${[...shapes.keys()].join(', ')}]`);
  }
  const weights: Float32Array[] = [];
  let offset = 0;
  for (const spec of specs) {
    const want = shapes.get(spec.name) as readonly number[];
    if (spec.shape.length !== want.length || spec.shape.some((v, i) => v !== want[i])) {
      throw new Error(`weight '${spec.name}' has shape [${spec.shape.join(', ')}], its layer needs [${want.join(', ')}]`);
    }
    const length = want.reduce((a, b) => a * b, 1);
    // A copy into a fresh (aligned) buffer: a Buffer from readFile may start at any byte of a shared pool.
    const start = bytes.byteOffset + offset;
    weights[weightIndex(chain, spec.name)] = new Float32Array(bytes.buffer.slice(start, start + 4 * length));
    offset += 4 * length;
  }
  return new DenseAutoencoder(chain, weights, { head, specs });
}

/** The dense chain a topology describes, or undefined when it is anything else. */
export function denseChainOf(topology: object): DenseChain | undefined {
  const t = topology as TopologyJson;
  const layers = t.config?.layers;
  if ((t.class_name !== 'Model' && t.class_name !== 'Functional') || !Array.isArray(layers) || layers.length < 2) return undefined;
  const [input, ...dense] = layers as LayerJson[];
  const inputShape = input.config?.batch_input_shape;
  const isInput =
    input.class_name === 'InputLayer' && typeof input.name === 'string' && isFloat32(input.config?.dtype) &&
    Array.isArray(inputShape) && inputShape.length === 2 && inputShape[0] === null && isPositiveInt(inputShape[1]);
  if (!isInput || !refersTo(t.config?.input_layers, input.name)) return undefined;

  const sizes: number[] = [inputShape[1] as number];
  const activations: DenseActivation[] = [];
  const layerNames: string[] = [];
  let previous = input.name;
  for (const [i, layer] of dense.entries()) {
    const c = layer.config ?? {};
    const want: DenseActivation = i === dense.length - 1 ? 'sigmoid' : 'relu';
    const isDense =
      layer.class_name === 'Dense' && typeof layer.name === 'string' && c.activation === want && c.use_bias !== false &&
      isPositiveInt(c.units) && isFloat32(c.dtype) && fedBy(layer.inbound_nodes, previous);
    if (!isDense) return undefined;
    sizes.push(c.units as number);
    activations.push(want);
    layerNames.push(layer.name);
    previous = layer.name;
  }
  if (!refersTo(t.config?.output_layers, previous) || new Set([input.name, ...layerNames]).size !== layers.length) return undefined;
  const latent = layerNames.indexOf(LATENT_LAYER);
  return { sizes, activations, latentDepth: latent >= 0 ? latent + 1 : Math.ceil(layerNames.length / 2), layerNames };
}

/** Each weight's name and shape as tfjs names them: `<layer>/kernel` (inputs x units) and `<layer>/bias`. */
function expectedShapes(chain: DenseChain): Map<string, readonly number[]> {
  const shapes = new Map<string, readonly number[]>();
  chain.layerNames.forEach((name, i) => {
    shapes.set(`${name}/kernel`, [chain.sizes[i], chain.sizes[i + 1]]);
    shapes.set(`${name}/bias`, [chain.sizes[i + 1]]);
  });
  return shapes;
}

/** inbound_nodes of a layer called once on the output of `previous`: [[[previous, 0, 0, {}]]]. */
function fedBy(nodes: unknown, previous: string): boolean {
  if (!Array.isArray(nodes) || nodes.length !== 1 || !Array.isArray(nodes[0]) || nodes[0].length !== 1) return false;
  const [name, nodeIndex, tensorIndex, kwargs] = nodes[0][0] as unknown[];
  const noKwargs = kwargs === undefined || (typeof kwargs === 'object' && kwargs !== null && Object.keys(kwargs).length === 0);
  return name === previous && nodeIndex === 0 && tensorIndex === 0 && noKwargs;
}

/** input_layers / output_layers naming exactly one tensor, the first output of `name`: [[name, 0, 0]]. */
function refersTo(refs: unknown, name: string): boolean {
  return Array.isArray(refs) && refs.length === 1 && Array.isArray(refs[0]) && refs[0][0] === name && refs[0][1] === 0 && refs[0][2] === 0;
}

function isFloat32(dtype: unknown): boolean {
  return dtype === undefined || dtype === 'float32';
}

function isPositiveInt(v: unknown): boolean {
  return typeof v === 'number' && Number.isInteger(v) && v > 0;
}
