import type { Command } from 'commander';
import { inspectModel, type InspectReport } from '../index.js';
import { runCommand, stdio } from './run.js';

export function registerInspect(program: Command, setExit: (code: number) => void): void {
  program
    .command('inspect')
    .description('print IR version, opsets, inputs/outputs, op histogram, parameters and quantizable nodes')
    .argument('<model>', 'ONNX model file')
    .option('--json', 'print one JSON object as the last line')
    .option('--debug', 'show stack traces on errors')
    .action(async (model: string, opts: { json?: boolean; debug?: boolean }) => {
      setExit(await runCommand(async () => {
        const report = inspectModel(model);
        stdio.out(opts.json ? JSON.stringify(report) : renderInspect(report));
      }, { debug: !!opts.debug, json: !!opts.json }));
    });
}

export function renderInspect(r: InspectReport): string {
  const shape = (s: (number | string | null)[] | null) => (s ? `[${s.map((d) => d ?? '?').join(', ')}]` : '[unknown rank]');
  const lines = [
    `model      ${r.file ?? ''}`,
    `ir         ${r.irVersion}    producer ${r.producer.name} ${r.producer.version}`.trimEnd(),
    `opsets     ${r.opsets.map((o) => `${o.domain} ${o.version}`).join(', ')}`,
    'inputs',
    ...r.inputs.map((i) => `  ${i.name}  ${i.dtype} ${shape(i.shape)}`),
    'outputs',
    ...r.outputs.map((o) => `  ${o.name}  ${o.dtype} ${shape(o.shape)}`),
    `ops        ${r.nodeCount} nodes, ${r.subgraphCount} subgraphs, ${r.functionCount} functions`,
    ...Object.entries(r.opHistogram).map(([op, n]) => `  ${op.padEnd(28)} ${n}`),
    `parameters ${r.parameters.total.toLocaleString('en-US')} elements, ${formatBytes(r.parameters.bytes)}`,
    ...Object.entries(r.parameters.byDtype).map(([d, e]) => `  ${d.padEnd(10)} ${e.count.toLocaleString('en-US')} in ${e.tensors} tensors, ${formatBytes(e.bytes)}`),
    `quantizable ${r.quantizable.length} nodes`,
    ...r.quantizable.map((q) => `  ${q.opType.padEnd(14)} ${q.name}${q.status === 'absorbed' ? '  (folded into its producer\'s range)' : ''}`),
  ];
  const u = r.opsetUpgrade;
  if (u) {
    lines.push(`upgrade    opset ${u.from} → ${u.to}: ${u.adapters.length ? `${u.adapters.reduce((a, s) => a + s.count, 0)} adapted node(s)` : 'no op needs an adapter'}${u.refused.length ? `, ${u.refused.length} node(s) cannot be converted` : ''}`,
      ...u.adapters.map((s) => `  ${s.op.padEnd(20)} → ${s.since}  ×${s.count}  ${s.what}`),
      ...u.refused.map((x) => `  cannot convert ${x.op}${x.node ? ` '${x.node}'` : ''} (opset ${x.opset} → ${x.to}): ${x.reason}`));
  }
  return lines.join('\n');
}

export function formatBytes(n: number): string {
  if (n < 1024) return `${n} B`;
  if (n < 1024 ** 2) return `${(n / 1024).toFixed(1)} KiB`;
  if (n < 1024 ** 3) return `${(n / 1024 ** 2).toFixed(1)} MiB`;
  return `${(n / 1024 ** 3).toFixed(2)} GiB`;
}
