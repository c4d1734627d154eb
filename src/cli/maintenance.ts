// `anomalyd maintenance list|add|end`: the maintenance windows of a running daemon, through its operator API.
// list prints each window (open now or planned) with its reason; add opens one (streams, labels, until when);
// end closes one early. Windows in the config file are listed too, and are ended by editing the file.
import { parseDuration } from '../config/duration';
import { errorMessage, InputError } from '../core/errors';
import type { MaintenanceWindowJson } from '../telemetry/operatorApi';
import { callApi, DEFAULT_DAEMON_URL, parseApiCommand, TOKEN_ENV } from './apiClient';
import { printJson, UsageError } from './common';

const USAGE = `Usage: anomalyd maintenance list [--json]
       anomalyd maintenance add (--end TIME | --for DURATION) --reason TEXT [--streams GLOB]... [--label K=V]... [--start TIME] [--json]
       anomalyd maintenance end ID

  --url URL          the daemon's HTTP address (default ${DEFAULT_DAEMON_URL})
  --token-file F     file holding the admin token (default: the ${TOKEN_ENV} environment variable);
                     list also takes the read token
  --streams GLOB     stream ids the window covers (* one level, ** across; repeat for several; default all)
  --label K=V        only streams carrying this label (repeat: every one must match)
  --start TIME       ISO 8601 with a zone (default now)
  --end TIME         ISO 8601 with a zone, or --for 2h / 90m / 1d from the start
  --reason TEXT      why (shown on the status page and in the page sent if a fault outlasts the window)
  --json             print the API's JSON

Inside a window the covered streams are still scored and written, their alerts are recorded but page nobody,
and nothing is learned; an alert still firing when the window ends pages then.`;

export async function maintenanceCommand(args: string[]): Promise<number> {
  const parsed = parseApiCommand(
    args,
    {
      streams: { type: 'string', multiple: true },
      label: { type: 'string', multiple: true },
      start: { type: 'string' },
      end: { type: 'string' },
      for: { type: 'string' },
      reason: { type: 'string' },
    },
    USAGE,
  );
  if (!parsed) return 0;
  const { values, positionals, target } = parsed;
  const [action, ...rest] = positionals;
  switch (action) {
    case 'list': {
      if (rest.length > 0) throw new UsageError(`list takes no arguments (got '${rest.join(' ')}')`, USAGE);
      const { windows } = (await callApi(target, 'GET', '/api/v1/maintenance')) as { windows: MaintenanceWindowJson[] };
      if (values.json) printJson({ windows });
      else process.stdout.write(listText(windows));
      return 0;
    }
    case 'add': {
      if (rest.length > 0) throw new UsageError(`add takes options only (got '${rest.join(' ')}')`, USAGE);
      if (values.reason === undefined) throw new UsageError('add needs --reason', USAGE);
      const start = values.start ?? new Date().toISOString();
      const end = endTime(values.end, values.for, start);
      const labels = Object.fromEntries((values.label ?? []).map(labelPair));
      const window = (await callApi(target, 'POST', '/api/v1/maintenance', {
        ...(values.streams ? { streams: values.streams } : {}),
        labels,
        start,
        end,
        reason: values.reason,
      })) as MaintenanceWindowJson;
      if (values.json) printJson(window);
      else process.stdout.write(`opened ${window.id}: ${window.start ?? ''} to ${window.end ?? ''}, ${scope(window)} (${window.reason})\n`);
      return 0;
    }
    case 'end': {
      if (rest.length !== 1) throw new UsageError('end takes the id of one window (see maintenance list)', USAGE);
      await callApi(target, 'DELETE', `/api/v1/maintenance/${encodeURIComponent(rest[0])}`);
      process.stdout.write(`ended ${rest[0]}\n`);
      return 0;
    }
    default:
      throw new UsageError(action === undefined ? 'say list, add or end' : `unknown action '${action}': list, add or end`, USAGE);
  }
}

function endTime(end: string | undefined, forDuration: string | undefined, start: string): string {
  if ((end === undefined) === (forDuration === undefined)) throw new UsageError('add needs one of --end TIME or --for DURATION', USAGE);
  if (end !== undefined) return end;
  const from = Date.parse(start);
  if (!Number.isFinite(from)) throw new InputError(`--start is not a time: '${start}'`);
  let ms: number;
  try {
    ms = parseDuration(forDuration ?? '');
  } catch (err) {
    throw new UsageError(`--for: ${errorMessage(err)}`, USAGE);
  }
  return new Date(from + ms).toISOString();
}

function labelPair(text: string): [string, string] {
  const i = text.indexOf('=');
  if (i <= 0) throw new UsageError(`--label takes KEY=VALUE (got '${text}')`, USAGE);
  return [text.slice(0, i), text.slice(i + 1)];
}

function scope(w: MaintenanceWindowJson): string {
  const labels = Object.entries(w.labels).map(([k, v]) => `${k}=${v}`);
  return [`streams ${w.streams.join(', ')}`, ...(labels.length > 0 ? [`labels ${labels.join(', ')}`] : [])].join('; ');
}

/** One block a window: open ones first, then planned ones by start. */
function listText(windows: readonly MaintenanceWindowJson[]): string {
  if (windows.length === 0) return 'no maintenance windows\n';
  const key = (w: MaintenanceWindowJson): string => (w.open ? `0${w.open.start}` : `1${w.start ?? ''}`);
  return [...windows]
    .sort((a, b) => key(a).localeCompare(key(b)))
    .map((w) => {
      const when = w.open ? `OPEN until ${w.open.end}` : w.schedule ? `every ${w.schedule} for ${Math.round((w.duration_ms ?? 0) / 60_000)} min` : `planned ${w.start ?? ''} to ${w.end ?? ''}`;
      return `${w.id}  ${when}\n  ${scope(w)}\n  reason: ${w.reason} (${w.origin === 'config' ? 'config file' : `by ${w.created_by}`})\n`;
    })
    .join('');
}
