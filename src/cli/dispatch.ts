// Command table and error policy: user errors (bad input, config, model) print their message alone and exit 1;
// usage errors print the usage and exit 2; anything else is a bug and prints its stack.
import { checkModels } from '../app/modelCheck';
import { isUserError } from '../core/errors';
import { calibrateCommand } from './calibrate';
import { UsageError } from './common';
import { evaluateCommand } from './evaluate';
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
  train: { run: trainCommand, summary: 'train a denoising autoencoder on clean recorded data' },
  calibrate: { run: calibrateCommand, summary: 'set a model threshold from clean recorded data' },
  replay: { run: replayCommand, summary: 'score recorded data: scores, decisions and alerts' },
  evaluate: { run: evaluateCommand, summary: 'measure detection quality on a benchmark data set' },
};

export const USAGE = [
  'Usage: anomalyd <command> [options]',
  '',
  'Commands:',
  ...Object.entries(COMMANDS).map(([name, c]) => `  ${name.padEnd(10)} ${c.summary}`),
  '',
  "Run 'anomalyd <command> --help' for a command's options.",
].join('\n');

export async function runCli(argv: string[]): Promise<number> {
  const [name, ...rest] = argv;
  if (name === undefined || name === '--help' || name === '-h' || name === 'help') {
    process.stdout.write(USAGE + '\n');
    return name === undefined ? 2 : 0;
  }
  if (name === '--version') {
    const { packageVersion } = await import('./common');
    process.stdout.write(packageVersion() + '\n');
    return 0;
  }
  const command = COMMANDS[name];
  if (!command) {
    process.stderr.write(`anomalyd: unknown command '${name}'\n\n${USAGE}\n`);
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
    throw err;
  }
}
