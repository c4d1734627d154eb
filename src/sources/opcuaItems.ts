// One OPC UA subscription of the source: created on the session, its items resolved (browse paths through the
// server's TranslateBrowsePathsToNodeIds) and monitored, each item's client handle mapped to the channel it
// feeds. node-opcua keeps the ClientSubscription across reconnections (it reactivates or transfers the session,
// republishes what was missed, or recreates the subscription with the same client handles on a new session),
// so this runs once per session the source creates itself.
import type { ClientSession, ClientSubscription, MonitoringParametersOptions, NotificationMessage, ReadValueIdOptions } from 'node-opcua-client';
import type { OpcuaEvents, OpcuaItemRef } from '../core/opcuaEvents';
import type { OpcuaClientLib } from './opcuaClient';
import type { ItemTarget } from './opcuaSamples';

export interface OpcuaItemOptions {
  readonly nodeId?: string;
  readonly browsePath?: string;
  readonly channel: string;
  readonly samplingIntervalMs?: number;
  readonly queueSize?: number;
}

export interface OpcuaSubscriptionOptions {
  /** The stream, and its subscription index downstream (after the MQTT subscriptions). */
  readonly stream: string;
  readonly index: number;
  readonly publishingIntervalMs: number;
  readonly samplingIntervalMs: number;
  readonly queueSize: number;
  readonly timestamps: 'source' | 'server';
  readonly items: readonly OpcuaItemOptions[];
}

/** A monitored item as the notification handler needs it. */
export interface MonitoredTarget {
  readonly target: ItemTarget;
  readonly ref: OpcuaItemRef;
  readonly timestamps: 'source' | 'server';
  /** Server timestamps snap to this grid (the item's sampling interval). */
  readonly gridMs: number;
}

/** Keep-alives per publishing interval count: the server sends an empty publish after this many quiet intervals. */
const KEEPALIVE_COUNT = 10;

/**
 * Creates subscription `k` and its monitored items; the handles of the items the server accepted go into
 * `handles`. Refused items are reported and left out (their channel stays unknown). Resolves with the
 * subscription and the number of items monitored.
 */
export async function createSubscription(
  lib: OpcuaClientLib,
  session: ClientSession,
  k: number,
  opts: OpcuaSubscriptionOptions,
  sessionTimeoutMs: number,
  handles: Map<number, MonitoredTarget>,
  events: OpcuaEvents,
  onMessage: (message: NotificationMessage) => void,
): Promise<{ subscription: ClientSubscription; monitored: number; refused: number }> {
  const c = lib.client;
  // The server keeps the subscription (and its queued values) for lifetime × publishing interval without a
  // publish request: at least the session timeout, so a link back within it finds everything still there.
  const lifetime = Math.max(3 * KEEPALIVE_COUNT, Math.ceil(sessionTimeoutMs / opts.publishingIntervalMs));
  const subscription = await session.createSubscription2({
    requestedPublishingInterval: opts.publishingIntervalMs,
    requestedLifetimeCount: lifetime,
    requestedMaxKeepAliveCount: KEEPALIVE_COUNT,
    maxNotificationsPerPublish: 0,
    // Off until every item exists: the items are made by several MonitorItems calls (one per parameter group),
    // each item reports its first value as soon as it exists, and the server publishes on its own timer. So
    // with publishing on, one sample's first values could arrive in two notification messages (the first
    // sample twice, the second time complete). Off, the server keeps the values queued and the first message
    // after publishing is switched on carries every item's first value.
    publishingEnabled: false,
    priority: 1,
  });
  subscription.on('raw_notification', onMessage);
  const refs = opts.items.map((item): OpcuaItemRef => ({ node: item.nodeId ?? item.browsePath ?? '', stream: opts.stream, channel: item.channel }));
  const nodeIds = await resolveNodes(lib, session, opts.items);
  let refused = 0;
  // One MonitorItems call per distinct (sampling interval, queue size): the parameters are per call.
  const groups = new Map<string, number[]>();
  opts.items.forEach((item, j) => {
    const resolved = nodeIds[j];
    if (typeof resolved !== 'string') {
      refused++;
      events.itemRefused(refs[j], resolved?.status ?? 'unresolved');
      return;
    }
    const key = `${item.samplingIntervalMs ?? opts.samplingIntervalMs}/${item.queueSize ?? opts.queueSize}`;
    groups.set(key, [...(groups.get(key) ?? []), j]);
  });
  let monitored = 0;
  for (const [key, members] of groups) {
    const [sampling = 0, queue = 1] = key.split('/').map(Number);
    const items: ReadValueIdOptions[] = members.map((j) => ({ nodeId: nodeIds[j] as string, attributeId: c.AttributeIds.Value }));
    const params: MonitoringParametersOptions = { samplingInterval: sampling, queueSize: queue, discardOldest: true };
    const group = await subscription.monitorItems(items, params, c.TimestampsToReturn.Both);
    group.monitoredItems.forEach((item, i) => {
      const j = members[i] ?? 0;
      const ref = refs[j];
      if (item.statusCode.isBad()) {
        refused++;
        events.itemRefused(ref, item.statusCode.name);
        return;
      }
      monitored++;
      handles.set(item.monitoringParameters.clientHandle, { target: { subscription: k, channel: j }, ref, timestamps: opts.timestamps, gridMs: sampling });
    });
  }
  const status = await subscription.setPublishingMode(true);
  if (status.isNotGood()) throw new Error(`OPC UA server refused to start publishing subscription '${opts.stream}': ${status.name}`);
  // node-opcua makes a subscription the server lost again from its own copy of the creation parameters,
  // which setPublishingMode does not update: without this a server restart would leave it silent.
  (subscription as { publishingEnabled: boolean }).publishingEnabled = true;
  return { subscription, monitored, refused };
}

/** Each item's node id, or why it has none (a browse path the server could not resolve). */
async function resolveNodes(lib: OpcuaClientLib, session: ClientSession, items: readonly OpcuaItemOptions[]): Promise<(string | { status: string } | undefined)[]> {
  const out: (string | { status: string } | undefined)[] = items.map((item) => item.nodeId);
  const paths = items.flatMap((item, j) => (item.browsePath !== undefined ? [{ j, path: item.browsePath }] : []));
  if (paths.length === 0) return out;
  const results = await session.translateBrowsePath(paths.map((p) => lib.client.makeBrowsePath('RootFolder', p.path)));
  paths.forEach((p, i) => {
    const r = results[i];
    const target = r?.targets?.[0];
    out[p.j] = r && r.statusCode.isGood() && target ? target.targetId.toString() : { status: r ? r.statusCode.name : 'no result' };
  });
  return out;
}
