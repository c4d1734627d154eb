// `anomalyd feedback FINGERPRINT --false-positive|--true-positive`: labels an alert episode of a running daemon
// through its operator API (the episode's fingerprint as the pages, the status page and GET /api/v1/alerts show
// it; its latest episode unless --starts-at names one). `anomalyd feedback list` prints the labels given.
import type { FeedbackJson } from '../telemetry/operatorApi';
import { callApi, DEFAULT_DAEMON_URL, parseApiCommand, TOKEN_ENV } from './apiClient';
import { printJson, UsageError } from './common';

const USAGE = `Usage: anomalyd feedback FINGERPRINT (--false-positive | --true-positive) [--note TEXT] [--starts-at TIME] [--json]
       anomalyd feedback list [--json]

  --url URL          the daemon's HTTP address (default ${DEFAULT_DAEMON_URL})
  --token-file F     file holding the admin token (default: the ${TOKEN_ENV} environment variable);
                     list also takes the read token
  --false-positive   the alert was wrong: its period becomes training data for the next model
  --true-positive    the alert was right: its period stays out of training
  --note TEXT        what was found (kept with the label)
  --starts-at TIME   the episode's start (ISO 8601, as the status page shows it); default the latest episode
  --json             print the API's JSON

Labels count in anomalyd_alert_precision{stream} (the share of labelled episodes of the last 30 days that were
right) and are written to InfluxDB (anomaly_feedback), where train and calibrate --influx-query read them.`;

export async function feedbackCommand(args: string[]): Promise<number> {
  const parsed = parseApiCommand(
    args,
    {
      'false-positive': { type: 'boolean', default: false },
      'true-positive': { type: 'boolean', default: false },
      note: { type: 'string' },
      'starts-at': { type: 'string' },
    },
    USAGE,
  );
  if (!parsed) return 0;
  const { values, positionals, target } = parsed;
  if (positionals.length !== 1) throw new UsageError('give one alert fingerprint (or list)', USAGE);
  if (positionals[0] === 'list') {
    const { feedback } = (await callApi(target, 'GET', '/api/v1/feedback')) as { feedback: FeedbackJson[] };
    if (values.json) printJson({ feedback });
    else process.stdout.write(feedback.length === 0 ? 'no labels\n' : feedback.map(line).join(''));
    return 0;
  }
  if (values['false-positive'] === values['true-positive']) throw new UsageError('say --false-positive or --true-positive', USAGE);
  const label = values['false-positive'] ? 'false_positive' : 'true_positive';
  const labelled = (await callApi(target, 'POST', `/api/v1/alerts/${encodeURIComponent(positionals[0])}/feedback`, {
    label,
    ...(values.note !== undefined ? { note: values.note } : {}),
    ...(values['starts-at'] !== undefined ? { startsAt: values['starts-at'] } : {}),
  })) as FeedbackJson;
  if (values.json) printJson(labelled);
  else process.stdout.write(line(labelled));
  return 0;
}

function line(f: FeedbackJson): string {
  return `${f.fingerprint} ${f.stream} ${f.kind} from ${f.startsAt}: ${f.label}${f.note ? ` (${f.note})` : ''} by ${f.who}\n`;
}
