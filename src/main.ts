#!/usr/bin/env node
// Process entry: dispatch argv to a command and turn its outcome into an exit code. No logic lives here.
import { endQuietlyWhenStdoutCloses, runCli } from './cli/dispatch';

endQuietlyWhenStdoutCloses();

runCli(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (err: unknown) => {
    process.stderr.write(`anomalyd: internal error: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
    process.exitCode = 70;
  },
);
