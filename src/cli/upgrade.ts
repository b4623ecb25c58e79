import type { Command } from 'commander';
import { upgrade } from '../index.js';
import { runCommand, stdio } from './run.js';

export function registerUpgrade(program: Command, setExit: (code: number) => void): void {
  program
    .command('upgrade')
    .description('convert the model to another ai.onnx opset (7 → 21), adapting every op whose definition changed in between')
    .argument('<model>', 'ONNX model')
    .requiredOption('--opset <n>', 'target opset (13 for per-channel Q/DQ, 21 for int4/int16 Q/DQ)')
    .requiredOption('-o, --output <file>', 'output model')
    .option('--json', 'print a JSON summary as the last line')
    .option('--debug', 'show stack traces on errors')
    .action(async (model: string, flags: { opset: string; output: string; json?: boolean; debug?: boolean }) => {
      setExit(await runCommand(async () => {
        const r = upgrade(model, { opset: Number(flags.opset), output: flags.output });
        const lines = [`wrote ${r.output}: opset ${r.from} → ${r.to}`, ...r.steps.map((s) => `  ${s.op.padEnd(20)} → ${s.since}  ×${s.count}  ${s.what}`)];
        if (r.steps.length === 0) lines.push('  no op needed an adapter');
        stdio.out(flags.json ? JSON.stringify(r) : lines.join('\n'));
      }, !!flags.debug));
    });
}
