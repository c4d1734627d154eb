// Command table and error policy: user errors (bad input, config, model) print their message alone and exit 1;
// usage errors print the usage and exit 2; anything else is a bug and prints its stack.
import { checkModels } from '../app/modelCheck';
import { closest } from '../core/didYouMean';
import { isUserError } from '../core/errors';
import { calibrateCommand } from './calibrate';
import { runStdoutClosedHandler, UsageError } from './common';
import { evaluateCommand } from './evaluate';
import { feedbackCommand } from './feedback';
import { initCommand } from './init';
import { maintenanceCommand } from './maintenance';
import { modelsCommand } from './models';
import { retrainCommand } from './retrain';
import { replayCommand } from './replay';
import { runCommand } from './run';
import { simulateCommand } from './simulate';
import { trainCommand } from './train';
import { validateCommand } from './validate';

type Command = (args: string[]) => Promise<number>;

const COMMANDS: Record<string, { run: Command; summary: string }> = {
  run: { run: runCommand, summary: 'the daemon: MQTT in; scores, alerts and metrics out' },
  simulate: { run: simulateCommand, summary: 'publish realistic pump or ECG signals with faults to a broker' },
  validate: { run: (args) => validateCommand(args, { checks: [checkModels] }), summary: 'check a config file (and the models it names)' },
  init: { run: initCommand, summary: 'write a starter config from a CSV recording (channels, sample period, window)' },
  train: { run: trainCommand, summary: 'train a denoising autoencoder on clean recorded data' },
  calibrate: { run: calibrateCommand, summary: 'set a model threshold from clean recorded data' },
  replay: { run: replayCommand, summary: 'score recorded data: scores, decisions and alerts' },
  evaluate: { run: evaluateCommand, summary: 'measure detection quality on a benchmark data set' },
  maintenance: { run: maintenanceCommand, summary: 'list, open or end maintenance windows of a running daemon' },
  feedback: { run: feedbackCommand, summary: 'label an alert of a running daemon a false or true positive' },
  models: { run: modelsCommand, summary: 'list, promote or roll back the model versions of a running daemon' },
  retrain: { run: retrainCommand, summary: "retrain a stream's model in a running daemon (or show its last retrain)" },
};

export const USAGE = [
  'Usage: anomalyd <command> [options]',
  '',
  'Commands:',
  ...Object.entries(COMMANDS).map(([name, c]) => `  ${name.padEnd(12)} ${c.summary}`),
  '',
  "Run 'anomalyd <command> --help' for a command's options.",
].join('\n');

export async function runCli(argv: string[]): Promise<number> {
  const [name, ...rest] = argv;
  if (name === undefined || name === '--help' || name === '-h' || (name === 'help' && rest.length === 0)) {
    process.stdout.write(USAGE + '\n');
    return name === undefined ? 2 : 0;
  }
  if (name === '--version') {
    const { packageVersion } = await import('./common');
    process.stdout.write(packageVersion() + '\n');
    return 0;
  }
  // `help CMD [SUB]` is `CMD [SUB] --help`, so the two can never print different texts.
  if (name === 'help') return runCli([...rest, '--help']);
  const command = COMMANDS[name];
  if (!command) {
    const hint = closest(name, Object.keys(COMMANDS));
    process.stderr.write(`anomalyd: unknown command '${name}'${hint ? `; did you mean '${hint}'?` : ''}\n\n${USAGE}\n`);
    return 2;
  }
  try {
    return await command.run(rest);
  } catch (err) {
    if (err instanceof UsageError) {
      process.stderr.write(`anomalyd ${name}: ${err.message}\n\n${err.usage}\n`);
      return 2;
    }
    if (isUserError(err)) {
      process.stderr.write(`anomalyd ${name}: ${err.message}\n`);
      return 1;
    }
    // An output file that is a pipe (`replay --out /dev/stdout | head -2`) whose reader has gone: as for stdout,
    // the reader has what it asked for.
    if ((err as NodeJS.ErrnoException | null)?.code === 'EPIPE') return 0;
    throw err;
  }
}

/**
 * A reader that stops early (`anomalyd replay ... | head -2`) closes stdout; the next write fails with EPIPE.
 * Nothing more can be delivered then, and the reader has what it asked for, so the command ends at once with
 * status 0 instead of an unhandled 'error' event and its stack trace. Other stdout errors stay errors.
 */
export function endQuietlyWhenStdoutCloses(): void {
  process.stdout.on('error', (err: NodeJS.ErrnoException) => {
    if (err.code !== 'EPIPE') throw err;
    if (!runStdoutClosedHandler()) process.exit(0);
  });
  // A closed stderr (`2>&1 | head`, where stdout usually ends the command first) only loses progress and log
  // lines; the command's result on stdout still matters, so it goes on.
  process.stderr.on('error', (err: NodeJS.ErrnoException) => {
    if (err.code !== 'EPIPE') throw err;
  });
}
