// qtool's command line: parse, call one api function, print. Exit codes: 0 ok, 1 bad input or
// failure, 2 usage error, 3 an accuracy gate failed (the model is still written).
import { Command, CommanderError } from 'commander';
import { registerInspect } from './inspect.js';
import { registerCompare } from './compare.js';
import { registerQuantize } from './quantize.js';
import { registerFoldBn } from './fold-bn.js';
import { registerCalibrate } from './calibrate.js';
import { registerMergeStats } from './merge-stats.js';
import { registerUpgrade } from './upgrade.js';
import { registerSensitivity } from './sensitivity.js';
import { jsonError, stdio } from './run.js';
import { columns } from './terminal.js';
import { QTOOL_VERSION } from '../version.js';

export type Register = (program: Command, setExit: (code: number) => void) => void;
const commands: Register[] = [registerQuantize, registerFoldBn, registerInspect, registerCalibrate, registerMergeStats, registerCompare, registerUpgrade, registerSensitivity];

export async function main(argv: string[]): Promise<number> {
  let exitCode = 0;
  const program = new Command('qtool')
    .description('Post-training INT8 quantization for ONNX models')
    .version(QTOOL_VERSION)
    .showHelpAfterError('(run qtool --help for usage)')
    .exitOverride()
    .configureOutput({ writeOut: (s) => process.stdout.write(s), writeErr: (s) => process.stderr.write(s) })
    .configureHelp({ helpWidth: columns() });
  for (const register of commands) register(program, (c) => (exitCode = c));
  for (const c of program.commands) c.exitOverride();
  try {
    await program.parseAsync(argv, { from: 'user' });
  } catch (e) {
    if (e instanceof CommanderError) {
      if (e.code === 'commander.helpDisplayed' || e.code === 'commander.version' || e.code === 'commander.help') return 0;
      if (argv.includes('--json')) stdio.out(jsonError('usage', 2, e.message.replace(/^error: /, '')));
      return 2;
    }
    stdio.err(`qtool: ${(e as Error).message}`);
    return 1;
  }
  if (argv.length === 0) {
    program.outputHelp();
    return 2;
  }
  return exitCode;
}
export function addCommand(r: Register): void {
  commands.push(r);
}
