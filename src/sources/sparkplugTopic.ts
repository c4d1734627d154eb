// Sparkplug B topics: spBv1.0/<group>/<type>/<edge node>[/<device>]. A subscription with decoder sparkplug_b needs
// no template: its `stream` names streams from the topic's parts, `{group}`, `{edge}` and `{device}`
// (e.g. "{edge}/{device}"). The node's own metrics (NBIRTH, NDATA) have no device: their stream is the pattern's
// node form (sparkplugNodePattern): `{device}` is sparkplug.node_device where set, else it is removed with the "/"
// it leaves at either end or doubled, so "{edge}/{device}" names the node's stream "<edge>".
import { parseSharedFilter } from '../core/shard';
import { SPARKPLUG_NAMESPACE, sparkplugNodePattern } from '../core/sparkplugNames';
import { streamIdProblem, topicMatches, type RouteResult } from './topics';

export { sparkplugRouteProblems } from '../core/sparkplugNames';

/** The message types a Sparkplug B topic carries; STATE is a host application's (spBv1.0/STATE/<host>). */
export const SPARKPLUG_TYPES = ['NBIRTH', 'NDATA', 'NDEATH', 'NCMD', 'DBIRTH', 'DDATA', 'DDEATH', 'DCMD', 'STATE'] as const;
export type SparkplugType = (typeof SPARKPLUG_TYPES)[number];

export interface SparkplugTopic {
  readonly group: string;
  readonly type: SparkplugType;
  readonly edge: string;
  /** Absent for the node's own messages (N*). */
  readonly device?: string;
}

const PLACEHOLDER = /\{([^{}]*)\}/g;

/** The parts of a Sparkplug B topic, or a string saying why it is not one. */
export function parseSparkplugTopic(topic: string): SparkplugTopic | string {
  const levels = topic.split('/');
  if (levels[0] !== SPARKPLUG_NAMESPACE) return `not a Sparkplug B topic (does not start with ${SPARKPLUG_NAMESPACE}/)`;
  if (levels[1] === 'STATE') return { group: '', type: 'STATE', edge: levels.slice(2).join('/') };
  const [, group, type, edge, device, ...rest] = levels;
  if (!(SPARKPLUG_TYPES as readonly string[]).includes(type ?? '') || type === 'STATE') return `message type '${type ?? ''}' is not a Sparkplug B type (${SPARKPLUG_TYPES.join(', ')})`;
  if (!group || !edge) return 'the group or edge node level is empty';
  const deviceType = type.startsWith('D');
  if (rest.length > 0 || (deviceType && !device) || (!deviceType && device !== undefined)) {
    return deviceType ? `${type} needs spBv1.0/<group>/${type}/<edge>/<device>` : `${type} needs spBv1.0/<group>/${type}/<edge>`;
  }
  return { group, type: type as SparkplugType, edge, ...(device !== undefined ? { device } : {}) };
}

/** The stream id of a topic's parts under `pattern` (`nodeDevice`: see sparkplugNodePattern), or a string saying why it is unusable. */
export function sparkplugStream(pattern: string, t: SparkplugTopic, nodeDevice?: string): RouteResult {
  const values: Record<string, string> = { group: t.group, edge: t.edge, device: t.device ?? '' };
  const id = (t.device === undefined ? sparkplugNodePattern(pattern, nodeDevice) : pattern).replace(PLACEHOLDER, (_all, name: string) => values[name] ?? '');
  const problem = streamIdProblem(id);
  if (problem) return { ok: false, detail: problem };
  const labels: Record<string, string> = { group: t.group, edge: t.edge, ...(t.device !== undefined ? { device: t.device } : {}) };
  return { ok: true, stream: id, labels };
}

/** Whether a Sparkplug topic falls under a subscription's filter (shared subscriptions by their plain filter). */
export function sparkplugMatches(filter: string, topic: string): boolean {
  return topicMatches(parseSharedFilter(filter).filter, topic);
}
