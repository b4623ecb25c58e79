// A depthwise model from a trained fixture: lenet_bn (BN folded) with a 1×1 depthwise Conv
// (group = channels) after each Conv, and per-channel gains planted across the pair: output
// channel c of the Conv is divided by d_c and the depthwise layer multiplies it back, d_c
// log-uniform in [1/32, 32] (seeded). The float function is the trained one up to float32
// rounding; the weight ranges of both layers differ by up to 1000× between channels (the spread
// BN folding leaves in depthwise networks), which per-tensor weights cannot represent.
// Used by test/e2e/equalize.test.ts and bench/equalize.ts.
import { readModel, writeModel } from '../../src/index.js';
import { Node, Tensor, makeAttr } from '../../src/ir/index.js';
import { prepareModel } from '../../src/passes/index.js';
import { fixture } from './helpers.js';

export function plantDepthwise(out: string, seed = 3): string {
  const m = readModel(fixture('lenet_bn'));
  prepareModel(m);
  const g = m.graph;
  let s = seed;
  const rand = () => ((s = (s * 1103515245 + 12345) % 2147483648) / 2147483648);
  for (const conv of g.nodes.filter((n) => n.opType === 'Conv')) {
    const w = g.constantOf(conv.inputs[1]!)!;
    const b = g.constantOf(conv.inputs[2]!)!;
    const c = w.dims[0]!;
    const d = Float32Array.from({ length: c }, () => 2 ** (rand() * 10 - 5));
    const wd = w.toFloat32();
    const per = wd.length / c;
    const bd = b.toFloat32();
    for (let k = 0; k < wd.length; k++) wd[k] = wd[k]! / d[Math.floor(k / per)]!;
    for (let k = 0; k < c; k++) bd[k] = bd[k]! / d[k]!;
    const wName = g.addInitializer(Tensor.fromFloat32(g.uniqueName(`${conv.name}_W_planted`), w.dims, wd)).name;
    const bName = g.addInitializer(Tensor.fromFloat32(g.uniqueName(`${conv.name}_B_planted`), [c], bd)).name;
    g.setNodeInput(conv, 1, wName);
    g.setNodeInput(conv, 2, bName);
    const y = conv.outputs[0]!;
    const mid = g.uniqueName(`${y}_pointwise`);
    g.setNodeOutput(conv, 0, mid);
    const dw = g.addInitializer(Tensor.fromFloat32(g.uniqueName(`${conv.name}_dw_W`), [c, 1, 1, 1], d)).name;
    g.addNode(new Node({ name: `${conv.name}_depthwise`, opType: 'Conv', inputs: [mid, dw], outputs: [y], attributes: [makeAttr.int('group', c)] }), { after: conv });
  }
  g.cleanup();
  writeModel(m, out);
  return out;
}
