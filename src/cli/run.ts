// The one place that maps errors to exit codes and decides what reaches the terminal.
import { GateError, ModelError, QtoolError, UnsupportedError, UsageError, UserInputError } from '../index.js';

export interface CliIo {
  out: (s: string) => void;
  err: (s: string) => void;
}

export const stdio: CliIo = {
  out: (s) => process.stdout.write(s.endsWith('\n') ? s : `${s}\n`),
  err: (s) => process.stderr.write(s.endsWith('\n') ? s : `${s}\n`),
};

/** A stable name for each kind of failure, for `--json` consumers. */
export function errorCode(e: unknown): string {
  if (e instanceof UsageError) return 'usage';
  if (e instanceof GateError) return 'gate';
  if (e instanceof UserInputError) return 'input';
  if (e instanceof ModelError) return 'model';
  if (e instanceof UnsupportedError) return 'unsupported';
  return e instanceof QtoolError ? 'error' : 'internal';
}

/** With --json, an error is also one JSON object on stdout: the same code and message as on stderr. */
export function jsonError(code: string, exitCode: number, message: string): string {
  return JSON.stringify({ error: { code, exitCode, message } });
}

export interface RunOptions {
  debug?: boolean;
  json?: boolean;
}

/** Runs a command body; returns the exit code. Stack traces only with --debug. */
export async function runCommand(body: () => Promise<number | void>, options: boolean | RunOptions, io: CliIo = stdio): Promise<number> {
  const { debug, json } = typeof options === 'boolean' ? { debug: options, json: false } : options;
  try {
    return (await body()) ?? 0;
  } catch (e) {
    if (e instanceof QtoolError) {
      io.err(`qtool: ${e.message}`);
      if (debug && e.stack) io.err(e.stack);
      if (json && !(e as { jsonReported?: boolean }).jsonReported) io.out(jsonError(errorCode(e), e.exitCode, e.message));
      return e.exitCode;
    }
    const err = e as Error;
    const message = `internal error: ${err?.message ?? String(e)}`;
    io.err(`qtool: ${message}${debug ? '' : ' (run with --debug for the stack trace)'}`);
    if (debug && err?.stack) io.err(err.stack);
    if (json) io.out(jsonError('internal', 1, message));
    return 1;
  }
}
