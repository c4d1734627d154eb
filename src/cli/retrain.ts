// `anomalyd retrain STREAM`: starts a retrain of the stream's model in a running daemon through its operator API
// (POST /api/v1/streams/{id}/retrain, admin token); `--status` shows the stream's last retrain instead (GET,
// read token). The job runs in the daemon: queued, training, then shadow (a candidate beside the live model),
// refused (too few clean windows) or failed.
import type { RetrainJobJson } from '../telemetry/retrainApi';
import { callApi, DEFAULT_DAEMON_URL, parseApiCommand, TOKEN_ENV } from './apiClient';
import { printJson, UsageError } from './common';

const USAGE = `Usage: anomalyd retrain STREAM [--status] [--url URL] [--token-file F] [--json]

  --status           show the stream's last retrain (state, reason, candidate) instead of starting one
  --url URL          the daemon's HTTP address (default ${DEFAULT_DAEMON_URL})
  --token-file F     file holding the admin token (default: the ${TOKEN_ENV} environment variable);
                     --status also takes the read token
  --json             print the API's JSON

The stream must be covered by a retrain section of the daemon's configuration (its windows are recorded only
then). One retrain runs at a time; a second one of the same model is refused while the first is queued or
training.`;

export async function retrainCommand(args: string[]): Promise<number> {
  const parsed = parseApiCommand(args, { status: { type: 'boolean', default: false } }, USAGE);
  if (!parsed) return 0;
  const { values, positionals, target } = parsed;
  if (positionals.length !== 1) throw new UsageError('give one stream id', USAGE);
  const path = `/api/v1/streams/${encodeURIComponent(positionals[0])}/retrain`;
  const job = (await callApi(target, values.status ? 'GET' : 'POST', path)) as RetrainJobJson;
  if (values.json) printJson(job);
  else process.stdout.write(line(job, values.status));
  return 0;
}

function line(job: RetrainJobJson, status: boolean): string {
  const reason = typeof job['reason'] === 'string' ? `: ${job['reason']}` : '';
  const version = typeof job['version'] === 'string' ? ` (candidate ${job['version']})` : '';
  const head = status ? `last retrain of ${job.stream}` : `retrain of ${job.stream} started`;
  return `${head}: job ${job.id}, model ${job.model}, ${String(job['trigger'])}, ${job.state}${version}${reason}\n`;
}
