// Reads the shape of a convolutional autoencoder (what convAutoencoder.ts builds) back from a tfjs model, so the
// native addon can compute it (packages/anomalyd-native/src/conv_net.h mirrors the same layers). Every layer is
// checked against what buildConvAutoencoder makes for the shape read: its class, size, stride, padding,
// activation, bias and place in a single chain. A model that differs in anything (another padding, a dilation,
// a layer added by hand) is refused with the reason, and tfjs computes it.
import type * as tf from '@tensorflow/tfjs';
import { CONV_STRIDE, convLengths } from '../core/convShape';

/** What the addon needs to build the network; weights follow in tfjs's order. */
export interface ConvTopology {
  readonly steps: number;
  readonly channels: number;
  readonly filters: readonly number[];
  readonly kernelSize: number;
  readonly latentUnits: number;
}

interface LayerConfig {
  readonly units?: number;
  readonly filters?: number;
  readonly kernelSize?: readonly number[];
  readonly strides?: readonly number[];
  readonly padding?: string;
  readonly dilationRate?: readonly number[];
  readonly dataFormat?: string;
  readonly activation?: string;
  readonly useBias?: boolean;
  readonly targetShape?: readonly number[];
  readonly size?: readonly number[];
  readonly interpolation?: string;
  readonly cropping?: readonly (readonly number[])[];
}

/** The layers' kinds and settings that matter to the computation, one line each, for comparison. */
type Signature = string[];

export function convTopologyOf(model: tf.LayersModel): ConvTopology | string {
  const layers = model.layers.filter((l) => l.getClassName() !== 'InputLayer');
  if (!layers.some((l) => l.getClassName() === 'Conv1D')) return 'the model has no Conv1D layer';
  for (const [i, layer] of layers.entries()) {
    const inbound = layer.inboundNodes;
    if (inbound.length !== 1 || inbound[0].inboundLayers.length !== 1 || (i > 0 && inbound[0].inboundLayers[0] !== layers[i - 1])) {
      return `layer '${layer.name}' is not part of a single chain`;
    }
  }
  const topology = readTopology(layers);
  if (typeof topology === 'string') return topology;
  const want = expectedSignature(topology);
  const have = layers.map(signatureOf);
  if (have.length !== want.length) return `the model has ${have.length} layers, a conv1d autoencoder of this shape ${want.length}`;
  const differs = have.findIndex((s, i) => s !== want[i]);
  if (differs >= 0) return `layer '${layers[differs].name}' is ${have[differs]}, the native conv1d network computes ${want[differs]}`;
  return topology;
}

function config(layer: tf.layers.Layer): LayerConfig {
  return layer.getConfig();
}

/** The shape, from the input reshape, the encoder's convolutions and the latent layer; checked by the signature after. */
function readTopology(layers: readonly tf.layers.Layer[]): ConvTopology | string {
  const [reshape] = layers;
  const target = config(reshape).targetShape;
  if (reshape.getClassName() !== 'Reshape' || target?.length !== 2) return `layer '${reshape.name}' does not reshape the window to steps x channels`;
  const encoder = [];
  for (const layer of layers.slice(1)) {
    if (layer.getClassName() !== 'Conv1D') break;
    encoder.push(config(layer));
  }
  const latent = layers[encoder.length + 2];
  const kernelSize = encoder[0]?.kernelSize?.[0];
  const latentUnits = latent ? config(latent).units : undefined;
  const filters = encoder.map((c) => c.filters);
  if (encoder.length === 0 || kernelSize === undefined || latentUnits === undefined || filters.some((f) => f === undefined)) {
    return 'the layers after the input reshape are not Conv1D layers, a flatten and a latent dense layer';
  }
  return { steps: target[0], channels: target[1], filters: filters as number[], kernelSize, latentUnits };
}

function expectedSignature(t: ConvTopology): Signature {
  const L = t.filters.length;
  const lengths = convLengths(t.steps, L);
  const deepest = lengths[L];
  const deepF = t.filters[L - 1];
  const k = t.kernelSize;
  const out: Signature = [`Reshape [${t.steps},${t.channels}]`];
  t.filters.forEach((f) => out.push(`Conv1D ${f} k[${k}] s[${CONV_STRIDE}] same d[1] channelsLast relu bias`));
  out.push('Flatten', `Dense ${t.latentUnits} relu bias`, `Dense ${deepest * deepF} relu bias`, `Reshape [${deepest},1,${deepF}]`);
  const outFilters = [t.channels, ...t.filters.slice(0, -1)];
  for (let i = L - 1; i >= 0; i--) {
    out.push(`UpSampling2D [${CONV_STRIDE},1] nearest channelsLast`);
    out.push(`Conv2D ${outFilters[i]} k[${k},1] s[1,1] same d[1,1] channelsLast ${i === 0 ? 'sigmoid' : 'relu'} bias`);
  }
  const decoded = deepest * CONV_STRIDE ** L;
  if (decoded > t.steps) out.push(`Cropping2D [[0,${decoded - t.steps}],[0,0]] channelsLast`);
  out.push(`Reshape [${t.steps * t.channels}]`);
  return out;
}

function signatureOf(layer: tf.layers.Layer): string {
  const c = config(layer);
  const list = (v: unknown): string => JSON.stringify(v ?? null);
  const bias = c.useBias === false ? 'nobias' : 'bias';
  switch (layer.getClassName()) {
    case 'Reshape':
      return `Reshape ${list(c.targetShape)}`;
    case 'Flatten':
      return 'Flatten';
    case 'Dense':
      return `Dense ${String(c.units)} ${String(c.activation)} ${bias}`;
    case 'Conv1D':
      // Conv1D has no data format setting: always channels last.
      return `Conv1D ${String(c.filters)} k${list(c.kernelSize)} s${list(c.strides)} ${String(c.padding)} d${list(c.dilationRate)} ${c.dataFormat ?? 'channelsLast'} ${String(c.activation)} ${bias}`;
    case 'Conv2D':
      return `Conv2D ${String(c.filters)} k${list(c.kernelSize)} s${list(c.strides)} ${String(c.padding)} d${list(c.dilationRate)} ${String(c.dataFormat)} ${String(c.activation)} ${bias}`;
    case 'UpSampling2D':
      return `UpSampling2D ${list(c.size)} ${String(c.interpolation)} ${String(c.dataFormat)}`;
    case 'Cropping2D':
      return `Cropping2D ${list(c.cropping)} ${String(c.dataFormat)}`;
    default:
      return layer.getClassName();
  }
}
