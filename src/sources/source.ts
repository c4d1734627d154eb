// The sources room's name for the Source contract. It is defined in core/source.ts because the pipeline and
// state (journal, ingest gate) take StreamSamples too, and those rooms may import core only.
export type { Deliver, Source, StreamSamples } from '../core/source';
