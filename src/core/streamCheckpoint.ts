// What a checkpoint keeps of one stream: the pipeline hands it over, the state store encodes and restores it.
import type { Sample } from './types';
import type { WindowBufferSnapshot, WindowBufferView } from './window';

/** A stream as restored: its window buffer and the samples held for reordering. */
export interface StreamSnapshot {
  readonly window: WindowBufferSnapshot;
  readonly held: readonly Sample[];
}

/** A stream as checkpoint() hands it over: the window buffer as views on its ring, to be encoded at once. */
export interface StreamCheckpoint {
  readonly window: WindowBufferView;
  readonly held: readonly Sample[];
}
