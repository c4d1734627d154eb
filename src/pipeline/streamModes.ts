// A stream's operating mode as the pipeline keeps it: the mode in force (with hysteresis, core/modeTracker.ts),
// the model and score filter of that mode, and whether the machine is off. The binding says where the mode
// comes from and what each mode uses; this holds the per-stream state that changes with it.
import type { AlertNotice } from '../core/alert';
import { ModeTracker, OFF_MODE } from '../core/modeTracker';
import type { StreamScoreFilter } from '../core/scoreFilter';

/** A stream's operating modes, as the composition root resolves them from its `modes` entry. */
export interface ModeBinding {
  /** `when`: the mode is read from every sample (classify); `topic`: it comes in mode messages (Pipeline.setMode). */
  readonly source: 'when' | 'topic';
  readonly holdSamples: number;
  /** `when`: the mode a sample's values show (the first condition that holds, else the default). */
  readonly classify?: (values: ArrayLike<number>) => string;
  /** The model scoring windows of `mode`: its own (`modes.models`), else the stream's. */
  modelOf(mode: string): string;
  /** The score filter of `mode`'s windows: one per mode, so no mode's score history judges another's. */
  filterOf(mode: string): StreamScoreFilter | undefined;
  /** The machine stopped (mode `off`): resolves what the stream has firing, with the reason. */
  stopped(now: number): readonly AlertNotice[];
  /** Every mode's score filter made so far (the state checkpoint keeps them). */
  filters(): ReadonlyMap<string, StreamScoreFilter>;
  /** The mode the stream was in when the daemon last saved its state (null: none): it starts in it after a restart. */
  readonly initial: string | null;
  /** The stream's mode changed (the state file keeps it, so a machine that is off stays off across a restart). */
  changed(mode: string): void;
}

/** One stream's mode state in the pipeline. */
export class StreamModeState {
  private readonly tracker: ModeTracker;
  /** The model scoring the stream's windows now (the stream's own before a mode is known). */
  model: string;
  /** The score filter of the mode in force (the stream's own before a mode is known). */
  filter: StreamScoreFilter | undefined;
  /** The mode is `off`: nothing is scored, learned or paged, and the stall alarm waits. */
  off = false;
  /** The mode last entered (null: none yet). */
  private entered: string | null = null;

  constructor(
    readonly binding: ModeBinding,
    baseModel: string,
    baseFilter: StreamScoreFilter | undefined,
    initial: string | null,
  ) {
    this.tracker = new ModeTracker(binding.holdSamples, initial);
    this.model = baseModel;
    this.filter = baseFilter;
    if (initial !== null) this.enter(initial);
  }

  get current(): string | null {
    return this.tracker.current;
  }

  /** One observation of a mode; returns the new mode when it changed (then call enter()), else null. */
  observe(mode: string): string | null {
    return this.tracker.observe(mode);
  }

  /** The mode in force before `next` applied (observe() already moved the tracker on). */
  previousOf(next: string): string | null {
    const previous = this.entered;
    return previous === next ? null : previous;
  }

  /** `mode` is now in force: later windows go to its model and filter. */
  enter(mode: string): void {
    this.entered = mode;
    this.off = mode === OFF_MODE;
    this.model = this.binding.modelOf(mode);
    this.filter = this.binding.filterOf(mode);
  }
}
