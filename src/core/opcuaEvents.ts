// The internal events of the OPC UA input (one function = one log line and its metrics, like core/context.ts's
// Events): the source reports them, telemetry/opcuaTelemetry.ts writes the lines and counts them. Apart from
// Events so a daemon without OPC UA carries none of it.

/** A monitored item as operators name it: the node (node id or browse path as configured) and where it feeds. */
export interface OpcuaItemRef {
  readonly node: string;
  readonly stream: string;
  readonly channel: string;
}

export interface OpcuaEvents {
  /** The session with its subscriptions is up (true) or not (false); `detail` says why (never a secret). */
  connection(connected: boolean, detail: string): void;
  /** The source stopped (the daemon stops, or a reload replaces it): disconnected on purpose; `why` says which. */
  stopped(why: string): void;
  /** The link dropped and came back; `resumed` says how (session reactivated, transferred, recreated). */
  reconnected(detail: string): void;
  /** The server refused to monitor an item (unknown node, browse path that resolves to nothing, no access). */
  itemRefused(item: OpcuaItemRef, status: string): void;
  /** Items monitored now and items refused, for the gauge. */
  itemsMonitored(ok: number, refused: number): void;
  /** A value whose status is not Good: counted, not scored (its channel is missing in that sample). */
  badValue(item: OpcuaItemRef, quality: 'bad' | 'uncertain', status: string): void;
  /** A Good value that is not a number (text, array, structure): counted, not scored. */
  notNumeric(item: OpcuaItemRef, why: string): void;
  /** A notification message of the stream's subscription the server no longer had when asked again (a gap). */
  notificationLost(stream: string, sequenceNumber: number): void;
  /** The server's queue for the item overflowed: it dropped values before they were sent (a gap). */
  queueOverflow(item: OpcuaItemRef): void;
  /**
   * The server no longer had the stream's subscription when the link came back (it restarted, or kept the
   * session less long than asked): node-opcua made it anew on a new session. What the server had queued and
   * what it did not sample meanwhile are a gap.
   */
  subscriptionRecreated(stream: string): void;
}
