// How far a stream's window buffer is from its next window: read from the pipeline on request (the status page,
// GET /api/v1/streams), never on the ingest path.

export interface StreamFill {
  readonly stream: string;
  readonly model: string;
  /** Wall-clock time of the stream's last message (ms); 0 when none came since start (a stream restored from state). */
  readonly lastSampleAt: number;
  /** Time steps in the window buffer; below `size` until the first window (and again after a gap restart). */
  readonly buffered: number;
  readonly size: number;
  readonly stepsUntilWindow: number;
  /** The configured sample period, else the one observed in the buffer; null when neither is known yet. */
  readonly samplePeriodMs: number | null;
  /** False while the stream's model is not loaded or still being learned: its windows are not scored. */
  readonly modelReady: boolean;
  /** The stream's operating mode; absent for a stream without `modes`, null while its mode is not known yet. */
  readonly mode?: string | null;
  /** Present (true) while the stream is offline: its Sparkplug B edge node or device died and was not born again. */
  readonly offline?: true;
  /**
   * Present while its data is refused because its Sparkplug birth gives other channels (these) than its model
   * learnt (channels learnt from births); gone once a birth gives its channels again.
   */
  readonly channelsChanged?: readonly string[];
}
