// The one place that maps errors to exit codes and decides what reaches the terminal.
import { QtoolError } from '../index.js';

export interface CliIo {
  out: (s: string) => void;
  err: (s: string) => void;
}

export const stdio: CliIo = {
  out: (s) => process.stdout.write(s.endsWith('\n') ? s : `${s}\n`),
  err: (s) => process.stderr.write(s.endsWith('\n') ? s : `${s}\n`),
};

/** Runs a command body; returns the exit code. Stack traces only with --debug. */
export async function runCommand(body: () => Promise<number | void>, debug: boolean, io: CliIo = stdio): Promise<number> {
  try {
    return (await body()) ?? 0;
  } catch (e) {
    if (e instanceof QtoolError) {
      io.err(`qtool: ${e.message}`);
      if (debug && e.stack) io.err(e.stack);
      return e.exitCode;
    }
    const err = e as Error;
    io.err(`qtool: internal error: ${err?.message ?? String(e)}${debug ? '' : ' (run with --debug for the stack trace)'}`);
    if (debug && err?.stack) io.err(err.stack);
    return 1;
  }
}
