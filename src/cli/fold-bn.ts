import type { Command } from 'commander';
import { foldBn } from '../index.js';
import { runCommand, stdio } from './run.js';

export function registerFoldBn(program: Command, setExit: (code: number) => void): void {
  program
    .command('fold-bn')
    .description('run the prepare passes alone: fold BatchNormalization into Conv/ConvTranspose/Gemm, drop Identity/Dropout')
    .argument('<model>', 'ONNX model')
    .requiredOption('-o, --output <file>', 'output model')
    .option('--json', 'print a JSON summary as the last line')
    .option('--debug', 'show stack traces on errors')
    .action(async (model: string, flags: { output: string; json?: boolean; debug?: boolean }) => {
      setExit(await runCommand(async () => {
        const r = foldBn(model, flags.output);
        stdio.out(flags.json ? JSON.stringify(r) : [`wrote ${r.output}: ${r.nodesBefore} → ${r.nodesAfter} nodes`, ...r.notes.map((n) => `  ${n}`)].join('\n'));
      }, { debug: !!flags.debug, json: !!flags.json }));
    });
}
