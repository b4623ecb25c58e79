// Typed errors. Every user-facing failure is one of these; the CLI maps them to exit codes in one
// place (cli/run.ts) and prints only `message` unless --debug is given.
export class QtoolError extends Error {
  readonly exitCode: number;
  constructor(message: string, exitCode = 1, options?: { cause?: unknown }) {
    super(message, options);
    this.name = new.target.name;
    this.exitCode = exitCode;
  }
}
/** Bad input: a file that is missing, unreadable, malformed, or does not match the model. */
export class UserInputError extends QtoolError {}
/** The model itself is invalid or inconsistent. */
export class ModelError extends QtoolError {}
/** A valid request qtool cannot carry out (e.g. an opset upgrade that would change meaning). */
export class UnsupportedError extends QtoolError {}
/** Wrong command-line usage. */
export class UsageError extends QtoolError {
  constructor(message: string) {
    super(message, 2);
  }
}
/** An accuracy gate failed; the model was still written. */
export class GateError extends QtoolError {
  constructor(message: string) {
    super(message, 3);
  }
}
