// `anomalyd run [-c FILE]`: the daemon. SIGTERM/SIGINT stop it within shutdown_grace_ms (a second signal forces
// the exit); SIGHUP re-reads the configuration and applies what can change while running.
import { configFileOf, loadConfig } from '../app/configFiles';
import { Daemon } from '../app/daemon';
import { configWarnings } from '../config/warnings';
import { errorMessage } from '../core/errors';
import { retrainInfluxHistory } from '../offline/retrainHistory';
import { onStdoutClosed, packageVersion, parseCommand } from './common';

const USAGE = `Usage: anomalyd run [-c FILE]

  -c, --config FILE   configuration (default: config/default.yaml of the package, the embedded demo)`;

export async function runCommand(args: string[]): Promise<number> {
  const values = parseCommand(args, { config: { type: 'string', short: 'c' } }, USAGE);
  if (!values) return 0;
  const file = configFileOf(values.config);
  const config = await loadConfig(values.config);
  const daemon = new Daemon(config, { version: packageVersion(), configFile: file, onLockLost: () => process.exit(1), influxHistory: retrainInfluxHistory });
  // The same warnings `validate` prints: valid settings that can lose data under load.
  for (const warning of configWarnings(config)) daemon.log.warn('Configuration warning.', { warning });
  try {
    await daemon.start();
  } catch (err) {
    daemon.log.error('anomalyd could not start.', { error: errorMessage(err) });
    await daemon.stop().catch(() => undefined);
    return 1;
  }
  return new Promise<number>((resolve) => {
    let signals = 0;
    const onStop = (signal: NodeJS.Signals): void => {
      signals++;
      if (signals > 1) {
        daemon.log.warn('Second signal: exiting without waiting for a clean stop.', { signal });
        process.exit(130);
      }
      const graceMs = daemon.shutdownGraceMs;
      daemon.log.info('Stopping.', { signal, grace_ms: graceMs });
      const deadline = setTimeout(() => {
        daemon.log.error('Shutdown grace period exceeded; exiting with data still in flight.', { grace_ms: graceMs });
        process.exit(1);
      }, graceMs);
      deadline.unref();
      daemon.stop().then(
        () => {
          clearTimeout(deadline);
          resolve(0);
        },
        (err: unknown) => {
          daemon.log.error('Stopping failed.', { error: errorMessage(err) });
          resolve(1);
        },
      );
    };
    onStdoutClosed(() => onStop('SIGPIPE'));
    process.on('SIGTERM', onStop);
    process.on('SIGINT', onStop);
    process.on('SIGHUP', () =>
      void daemon.reload(file, async () => {
        const next = await loadConfig(values.config);
        for (const warning of configWarnings(next)) daemon.log.warn('Configuration warning.', { warning });
        return next;
      }),
    );
  });
}
