// The Sparkplug B topic namespace and the names a sparkplug_b subscription's `stream` may use. Here, not in
// sources/, because the config check (validate) must refuse what the MQTT source refuses, with the same words.
import { parseSharedFilter } from './shard';

export const SPARKPLUG_NAMESPACE = 'spBv1.0';
/** The parts of spBv1.0/<group>/<type>/<edge>[/<device>] a stream pattern may name. */
export const SPARKPLUG_NAMES: readonly string[] = ['group', 'edge', 'device'];

const PLACEHOLDER = /\{([^{}]*)\}/g;

/**
 * The stream pattern of an edge node's own metrics (NBIRTH, NDATA: their topic has no device). With `nodeDevice`
 * (sparkplug.node_device) it stands for {device}; without, {device} is removed with the "/" it leaves doubled or at
 * either end: "{edge}/{device}" names the node's stream "<edge>", "{group}/{edge}/{device}" "<group>/<edge>".
 * Sparkplug ids have no "/" and are never empty, so tidying the pattern tidies every id it makes.
 */
export function sparkplugNodePattern(stream: string, nodeDevice?: string): string {
  const replaced = stream.replace(/\{device\}/g, () => nodeDevice ?? '');
  return nodeDevice !== undefined ? replaced : replaced.replace(/\/{2,}/g, '/').replace(/^\/|\/$/g, '');
}

/** Problems with a sparkplug_b subscription's topic, template and stream pattern, one message each; empty when valid. */
export function sparkplugRouteProblems(topic: string, stream: string, template: string | undefined, nodeDevice?: string): string[] {
  const p: string[] = [];
  const plain = parseSharedFilter(topic).filter;
  if (!plain.startsWith(`${SPARKPLUG_NAMESPACE}/`)) {
    p.push(`topic '${topic}': decoder sparkplug_b reads Sparkplug B topics, which start with ${SPARKPLUG_NAMESPACE}/ (e.g. ${SPARKPLUG_NAMESPACE}/<group>/#)`);
  }
  if (template !== undefined) p.push('template: not used with decoder sparkplug_b (the stream names {group}, {edge} and {device} come from the Sparkplug topic)');
  for (const m of stream.matchAll(PLACEHOLDER)) {
    if (!SPARKPLUG_NAMES.includes(m[1])) p.push(`stream '${stream}': '{${m[1]}}' is not a Sparkplug name (known: {group}, {edge}, {device})`);
  }
  if (/[{}]/.test(stream.replace(PLACEHOLDER, ''))) p.push(`stream '${stream}': unbalanced '{' or '}'`);
  else if (sparkplugNodePattern(stream, nodeDevice) === '') {
    p.push(`stream '${stream}': leaves an edge node's own metrics (NBIRTH, NDATA, NDEATH: their topic has no device) no stream id; name {edge} in it, or set sparkplug.node_device (e.g. "node")`);
  }
  return p;
}
