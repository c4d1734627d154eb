// `anomalyd models list|promote|rollback`: the model versions of a running daemon, through its operator API.
// list prints each model's live version, its shadow (what it would have fired against the live model, and its
// agreement with labelled alerts) and the stored versions; promote makes a version live (default the shadow);
// rollback returns to the previous live version. Both take effect at once and survive a restart.
import type { ModelChange, ModelJson } from '../telemetry/modelsApi';
import { callApi, DEFAULT_DAEMON_URL, parseApiCommand, TOKEN_ENV } from './apiClient';
import { printJson, UsageError } from './common';

const USAGE = `Usage: anomalyd models list [--json]
       anomalyd models promote NAME [--version V] [--json]
       anomalyd models rollback NAME [--json]

  --url URL          the daemon's HTTP address (default ${DEFAULT_DAEMON_URL})
  --token-file F     file holding the admin token (default: the ${TOKEN_ENV} environment variable);
                     list also takes the read token
  --version V        the version to make live (e.g. v3; default the model's shadow version)
  --json             print the API's JSON

v1 is the model's own artifact (models.<name>.path, or an auto stream's learned model); retraining adds v2,
v3, ..., each first scored in shadow beside the live version without paging.`;

export async function modelsCommand(args: string[]): Promise<number> {
  const parsed = parseApiCommand(args, { version: { type: 'string' } }, USAGE);
  if (!parsed) return 0;
  const { values, positionals, target } = parsed;
  const [action, ...rest] = positionals;
  if (action === 'list') {
    if (rest.length > 0 || values.version !== undefined) throw new UsageError('list takes no model name or --version', USAGE);
    const listed = (await callApi(target, 'GET', '/api/v1/models')) as { models: ModelJson[]; learned_not_listed: number };
    if (values.json) printJson(listed);
    else {
      const more = listed.learned_not_listed > 0 ? `and ${listed.learned_not_listed} more learned model(s) with only v1\n` : '';
      process.stdout.write((listed.models.length === 0 ? 'no models\n' : listed.models.map(describe).join('')) + more);
    }
    return 0;
  }
  if (action !== 'promote' && action !== 'rollback') throw new UsageError(action === undefined ? 'say list, promote or rollback' : `unknown action '${action}'`, USAGE);
  if (rest.length !== 1) throw new UsageError(`${action} takes one model name`, USAGE);
  if (action === 'rollback' && values.version !== undefined) throw new UsageError('rollback returns to the previous live version; to choose one, promote it', USAGE);
  const route = `/api/v1/models/${encodeURIComponent(rest[0])}/${action}`;
  const change = (await callApi(target, 'POST', route, action === 'promote' ? (values.version !== undefined ? { version: values.version } : {}) : undefined)) as ModelChange;
  if (values.json) printJson(change);
  else process.stdout.write(`${change.model}: ${change.live} is live (was ${change.previous})\n`);
  return 0;
}

function describe(m: ModelJson): string {
  const lines = [`${m.name}: live ${m.live}${m.history.length > 0 ? `, rollback to ${m.history[m.history.length - 1]}` : ''}`];
  const s = m.shadow;
  if (s) {
    const agreement = s.label_agreement === null ? 'no labelled alerts' : `agrees with ${s.agreed} of ${s.labelled_episodes} labelled alerts`;
    lines.push(`  shadow ${s.version} since ${s.since}: ${s.windows} windows, would have alerted ${s.would_be_episodes} time(s) against live's ${s.live_episodes}; ${agreement}`);
  }
  for (const v of m.versions) {
    const role = v.role === null ? '' : ` (${v.role})`;
    const when = v.created_at ?? 'unknown time';
    lines.push(`  ${v.version}${role} ${v.trigger} ${when}${v.windows !== null ? `, ${v.windows} windows` : ''} ${v.dir}`);
  }
  return lines.join('\n') + '\n';
}
