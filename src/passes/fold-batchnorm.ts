// Before: X ─▶ Conv(W, B) ─▶ BatchNormalization(γ, β, μ, σ²) ─▶ Y
// After:  X ─▶ Conv(W', B') ─▶ Y          W' = W·γ/√(σ²+ε), B' = (B−μ)·γ/√(σ²+ε) + β
// Likewise ConvTranspose (channel of W[ci, j] per ALGORITHMS.md §3) and Gemm (column n of op(B)).
// New initializers are always created, so a weight shared with another node is never scaled
// in place (the original stays for the other user; cleanup drops it when nobody does).
import { DataType, Tensor, isDefaultDomain, makeAttr, type Graph, type Node } from '../ir/index.js';
import type { Pass } from './pass.js';

export const foldBatchNorm: Pass = {
  name: 'fold-batchnorm',
  run(model) {
    const g = model.graph;
    const notes: string[] = [];
    for (const bn of [...g.nodes]) {
      if (bn.opType !== 'BatchNormalization' || !isDefaultDomain(bn.domain)) continue;
      const why = tryFold(g, bn);
      if (why) notes.push(`kept ${bn.name || 'BatchNormalization'}: ${why}`);
    }
    return notes;
  },
};

interface BnParams {
  s: Float64Array;
  beta: Float64Array;
  mean: Float64Array;
}

/** Folds one BN into its producer; returns why not, or undefined when folded. */
function tryFold(g: Graph, bn: Node): string | undefined {
  const x = bn.inputs[0]!;
  const p = g.producerOf(x);
  if (!p || !isDefaultDomain(p.domain) || !['Conv', 'ConvTranspose', 'Gemm'].includes(p.opType)) return 'not preceded by Conv/ConvTranspose/Gemm';
  if (g.consumersOf(x).length !== 1 || g.isGraphOutput(x)) return `the ${p.opType} output has other consumers`;
  if (bn.outputs.slice(1).some((o) => o)) return 'training-mode BatchNormalization (more than one output)';
  if (bn.attrInt('training_mode', 0) !== 0) return 'training_mode=1';
  if (bn.attrInt('spatial', 1) === 0) return 'spatial=0 (opset < 9: statistics per activation, not per channel)';
  const params = bn.inputs.slice(1, 5).map((n) => g.constantOf(n));
  if (params.length !== 4 || params.some((t) => !t || t.dtype !== DataType.FLOAT)) return 'BN parameters are not float constants';
  const w = g.constantOf(p.inputs[1] ?? '');
  const b = p.inputs[2] ? g.constantOf(p.inputs[2]) : undefined;
  if (!w || w.dtype !== DataType.FLOAT || (p.inputs[2] && (!b || b.dtype !== DataType.FLOAT))) return `${p.opType} weight or bias is not a float constant`;
  const [gamma, beta, mean, variance] = params.map((t) => t!.toFloat64());
  const eps = bn.attrFloat('epsilon', 1e-5);
  const s = gamma!.map((gm, c) => gm / Math.sqrt(variance![c]! + eps));
  const bnp: BnParams = { s, beta: beta!, mean: mean! };
  const folded = p.opType === 'Gemm' ? foldGemm(p, w, b, bnp) : foldConv(p, w, b, bnp);
  if (typeof folded === 'string') return folded;
  const wName = g.uniqueName(`${p.inputs[1]}_bnfolded`);
  const bName = g.uniqueName(`${p.name || p.opType}_bias_bnfolded`);
  g.addInitializer(Tensor.fromFloat32(wName, w.dims, folded.w));
  g.addInitializer(Tensor.fromFloat32(bName, [folded.b.length], folded.b));
  g.setNodeInput(p, 1, wName);
  g.setNodeInput(p, 2, bName);
  const y = bn.outputs[0]!;
  g.removeNode(bn);
  g.setNodeOutput(p, 0, y);
  return undefined;
}

function foldConv(p: Node, w: Tensor, b: Tensor | undefined, { s, beta, mean }: BnParams): { w: Float32Array; b: Float32Array } | string {
  const group = p.attrInt('group', 1);
  const wd = w.toFloat32();
  const inner = w.dims.slice(2).reduce((a, d) => a * d, 1);
  const transpose = p.opType === 'ConvTranspose';
  const cOut = transpose ? w.dims[1]! * group : w.dims[0]!;
  if (s.length !== cOut) return `BN has ${s.length} channels, ${p.opType} produces ${cOut}`;
  const out = new Float32Array(wd.length);
  if (!transpose) {
    const per = wd.length / cOut;
    for (let c = 0; c < cOut; c++) for (let i = 0; i < per; i++) out[c * per + i] = wd[c * per + i]! * s[c]!;
  } else {
    // W is [C_in, C_out/g, k…]; W[ci, j] feeds output channel (ci div (C_in/g))·(C_out/g) + j.
    const cIn = w.dims[0]!;
    const outPerGroup = w.dims[1]!;
    const inPerGroup = cIn / group;
    for (let ci = 0; ci < cIn; ci++) {
      for (let j = 0; j < outPerGroup; j++) {
        const c = Math.floor(ci / inPerGroup) * outPerGroup + j;
        const base = (ci * outPerGroup + j) * inner;
        for (let k = 0; k < inner; k++) out[base + k] = wd[base + k]! * s[c]!;
      }
    }
  }
  const bias = b?.toFloat64();
  const nb = new Float32Array(cOut);
  for (let c = 0; c < cOut; c++) nb[c] = s[c]! * ((bias?.[c] ?? 0) - mean[c]!) + beta[c]!;
  return { w: out, b: nb };
}

function foldGemm(p: Node, w: Tensor, c: Tensor | undefined, { s, beta, mean }: BnParams): { w: Float32Array; b: Float32Array } | string {
  if (w.dims.length !== 2) return 'Gemm B is not 2-D';
  const transB = p.attrInt('transB', 0) === 1;
  const [rows, cols] = w.dims as [number, number];
  const n = transB ? rows : cols;
  if (s.length !== n) return `BN has ${s.length} channels, Gemm produces ${n}`;
  if (c && c.size !== 1 && c.size !== n) return 'Gemm C is not a scalar or a [N] vector';
  const wd = w.toFloat32();
  const out = new Float32Array(wd.length);
  for (let r = 0; r < rows; r++) for (let k = 0; k < cols; k++) out[r * cols + k] = wd[r * cols + k]! * s[transB ? r : k]!;
  const betaG = p.attrFloat('beta', 1);
  const cv = c?.toFloat64();
  const nb = new Float32Array(n);
  for (let j = 0; j < n; j++) nb[j] = s[j]! * (betaG * (cv ? cv[cv.length === 1 ? 0 : j]! : 0) - mean[j]!) + beta[j]!;
  // C' already includes β_g; reset it so it is not applied twice.
  p.attributes = p.attributes.filter((a) => a.name !== 'beta').concat(betaG !== 1 ? [makeAttr.float('beta', 1)] : []);
  return { w: out, b: nb };
}
