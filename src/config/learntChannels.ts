// Which subscriptions take their streams' channels from the data instead of the config or a model: a sparkplug_b
// subscription that learns its own model ("auto") and lists no channels. Each stream's channels are then the
// numeric metrics of its Sparkplug birth (sources/sparkplugState.ts, learntChannels), fixed when the stream is
// first bound; a later birth with another set is refused while a model learnt the first (pipeline).
import type { SubscriptionConfig } from './schema';

export function learnsChannels(s: Pick<SubscriptionConfig, 'decoder' | 'model' | 'channels'>): boolean {
  return s.decoder === 'sparkplug_b' && s.model === 'auto' && s.channels === undefined;
}
