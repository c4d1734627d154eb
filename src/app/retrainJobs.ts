// Retrain jobs as they are kept and shown: the job's states, the candidate's metadata, the per-stream book of
// the schedule (first sight, last retrain, last drift retrain) and the file they are saved in
// (state_dir/retrain/jobs.json, read back at start), and the job as the API answers it.
import * as path from 'node:path';
import type { RetrainTrigger } from '../telemetry/retrainMetrics';
import type { CandidateMeta } from './modelVersions';

/** What a candidate is handed on with: the model version store's own type (kept in the version's manifest). */
export type { CandidateMeta };

/**
 * queued, training; then shadow (the candidate handed on, shadowing the live model), refused (too few clean
 * windows) or failed; with automatic promotion a shadow becomes promoted or rejected (left in shadow for an operator).
 */
export type RetrainState = 'queued' | 'training' | 'shadow' | 'refused' | 'failed' | 'promoted' | 'rejected';

export interface RetrainJob {
  readonly id: string;
  readonly stream: string;
  readonly model: string;
  readonly trigger: RetrainTrigger;
  state: RetrainState;
  /** Why it was refused or failed. */
  reason?: string;
  readonly requestedAt: number;
  startedAt?: number;
  finishedAt?: number;
  /** The candidate's version (from the version store) and directory. */
  version?: string;
  dir?: string;
  meta?: CandidateMeta;
}

export interface StreamBook {
  firstSeenAt: number;
  lastRetrainAt: number | null;
  lastDriftRetrainAt: number | null;
}

export const JOBS_FILE = path.join('retrain', 'jobs.json');
const FORMAT = 1;

export interface JobsFile {
  jobs: RetrainJob[];
  streams: Record<string, StreamBook>;
}

export function parseJobsFile(json: unknown): JobsFile {
  const v = json as { format?: unknown; jobs?: unknown; streams?: unknown };
  if (v.format !== FORMAT || !Array.isArray(v.jobs) || typeof v.streams !== 'object' || v.streams === null) throw new Error(`unexpected content (format ${String(v.format)})`);
  const jobs = (v.jobs as unknown[]).filter((j): j is RetrainJob => typeof j === 'object' && j !== null && typeof (j as RetrainJob).stream === 'string' && typeof (j as RetrainJob).id === 'string');
  const streams: Record<string, StreamBook> = {};
  for (const [s, b] of Object.entries(v.streams as Record<string, unknown>)) {
    const book = b as Partial<StreamBook>;
    if (typeof book.firstSeenAt === 'number') streams[s] = { firstSeenAt: book.firstSeenAt, lastRetrainAt: book.lastRetrainAt ?? null, lastDriftRetrainAt: book.lastDriftRetrainAt ?? null };
  }
  return { jobs, streams };
}

/** The job as the API shows it: times in RFC 3339. */
export function retrainJobJson(job: RetrainJob): Record<string, unknown> & { id: string; stream: string; model: string; state: string } {
  const iso = (t: number | undefined): string | undefined => (t === undefined ? undefined : new Date(t).toISOString());
  return {
    id: job.id,
    stream: job.stream,
    model: job.model,
    trigger: job.trigger,
    state: job.state,
    ...(job.reason !== undefined ? { reason: job.reason } : {}),
    requested_at: iso(job.requestedAt),
    ...(job.startedAt !== undefined ? { started_at: iso(job.startedAt) } : {}),
    ...(job.finishedAt !== undefined ? { finished_at: iso(job.finishedAt) } : {}),
    ...(job.version !== undefined ? { version: job.version } : {}),
    ...(job.meta ? { windows: job.meta.windows, data_hash: job.meta.dataHash, data_from: iso(job.meta.from), data_to: iso(job.meta.to), metrics: job.meta.metrics } : {}),
  };
}

/** The saved form of the books and the last jobs. */
export function jobsFileText(books: ReadonlyMap<string, StreamBook>, jobs: Iterable<RetrainJob>): string {
  return JSON.stringify({ format: FORMAT, streams: Object.fromEntries(books), jobs: [...jobs] }) + '\n';
}
