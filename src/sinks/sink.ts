// The sinks room's name for the Sink contract. It is defined in core/sink.ts because the pipeline (writes),
// state (backpressure) and telemetry (buffer gauges) name it too, and those rooms may import core only.
export type { EventPoint, HealthPoint, ScorePoint, Sink, SinkAdmission, SinkStats } from '../core/sink';
