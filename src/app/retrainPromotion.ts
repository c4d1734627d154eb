// Automatic promotion (`retrain.promotion: auto`): a candidate that has shadowed the live model for `shadow_for`
// is promoted when the model version store's judge says its alert rate and its agreement with the labelled
// episodes meet `auto_promote`, and left in shadow with the reason when it says reject. With `manual` an
// operator promotes (POST /api/v1/models/{name}/promote); nothing here acts.
import type { Log } from '../core/context';
import { errorMessage } from '../core/errors';
import type { RetrainJob } from './retrainJobs';
import type { RetrainSettings } from './retrainSettings';

/** The model version store's side (modelVersions: judgeShadow and promote): its shadow judge and its promotion. */
export interface ShadowStore {
  judgeShadow(
    model: string,
    bounds: { readonly maxAlertRateRatio: number; readonly minLabelAgreement: number; readonly minShadowMs: number },
  ): { readonly version: string; readonly verdict: 'promote' | 'wait' | 'reject'; readonly reason: string } | null;
  /** Resolves with the change, or with `{refused, reason}` when the store refuses it. */
  promote(model: string, version: string, who: string): Promise<object>;
}

/** Who an automatic promotion is made by, in the store's audit trail. */
export const AUTO_PROMOTER = 'retrain';

/**
 * Judges each job whose candidate shadows (state `shadow`) under a stream set to promote automatically; a job
 * whose candidate was promoted becomes `promoted`, one rejected `rejected` (with the judge's reason). Returns
 * whether a job changed.
 */
export async function promoteShadows(jobs: Iterable<RetrainJob>, settingsOf: (stream: string) => RetrainSettings | null, store: ShadowStore, log: Log, now: number): Promise<boolean> {
  let changed = false;
  for (const job of jobs) {
    if (job.state !== 'shadow' || job.version === undefined) continue;
    const settings = settingsOf(job.stream);
    if (!settings || settings.promotion !== 'auto') continue;
    const verdict = store.judgeShadow(job.model, { ...settings.autoPromote, minShadowMs: settings.shadowForMs });
    // Another candidate took the shadow's place (a later retrain): this one is no longer judged.
    if (!verdict || verdict.version !== job.version || verdict.verdict === 'wait') continue;
    if (verdict.verdict === 'reject') {
      job.state = 'rejected';
      job.reason = verdict.reason;
      job.finishedAt = now;
      log.warn('The candidate model is not promoted automatically; it stays in shadow for an operator.', { model: job.model, version: job.version, reason: verdict.reason });
      changed = true;
      continue;
    }
    try {
      const outcome = await store.promote(job.model, job.version, AUTO_PROMOTER);
      if ('refused' in outcome) {
        const reason = (outcome as { reason?: unknown }).reason;
        throw new Error(typeof reason === 'string' ? reason : 'refused by the model version store');
      }
      job.state = 'promoted';
      job.reason = verdict.reason;
      job.finishedAt = now;
      log.info('Promoted the candidate model automatically.', { model: job.model, version: job.version, reason: verdict.reason });
      changed = true;
    } catch (err) {
      log.error('Cannot promote the candidate model; judged again at the next check.', { model: job.model, version: job.version, error: errorMessage(err) });
    }
  }
  return changed;
}
