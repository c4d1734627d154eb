// A sink that keeps everything in memory: replay and evaluate collect scores and alerts through it, and tests
// use it to see exactly what the pipeline emitted. Bounded: beyond `maxPoints` the oldest scores are dropped.
import type { AlertNotice } from '../core/alert';
import type { HealthPoint, ScorePoint, Sink, SinkStats } from './sink';

export class CaptureSink implements Sink {
  readonly scores: ScorePoint[] = [];
  readonly alerts: AlertNotice[] = [];
  readonly health: HealthPoint[] = [];
  droppedScores = 0;

  constructor(
    readonly name = 'capture',
    private readonly maxPoints = 10_000_000,
  ) {}

  start(): Promise<void> {
    return Promise.resolve();
  }

  writeScores(points: readonly ScorePoint[]): void {
    for (const p of points) this.scores.push(p);
    const excess = this.scores.length - this.maxPoints;
    if (excess > 0) {
      this.scores.splice(0, excess);
      this.droppedScores += excess;
    }
  }

  writeAlert(notice: AlertNotice): void {
    this.alerts.push(notice);
  }

  writeHealth(point: HealthPoint): void {
    this.health.push(point);
  }

  flush(): Promise<void> {
    return Promise.resolve();
  }

  stop(): Promise<void> {
    return Promise.resolve();
  }

  stats(): SinkStats {
    return { buffered: 0, spooledBytes: 0 };
  }
}
