// The shape of every intermediate tensor of one plain run, read from onnxruntime's profile.
//
// Sizing the tensors to expose by exposing them (one run with all of them as outputs) holds every
// one of them at once: on a 1024² segmentation model, gigabytes more than a plain session. A
// profiled plain run records each kernel's output shapes at a plain session's memory. Graph
// optimizations are off for it so that nodes keep their names and their outputs (a fused Conv+Relu
// has no Conv output to report).
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { HostTensor } from '../ir/index.js';
import { Session, type SessionOptions, type SessionSource } from './index.js';

export interface ProfiledNode {
  /** The node's name as the model gives it ('' when it has none). */
  name: string;
  /** onnxruntime's index of the node (its position in the model's node list, optimizations off). */
  index: number;
  op: string;
  /** Element type (onnxruntime's name: 'float', 'int64', …) and dims of each output, in order. */
  outputs: { type: string; dims: number[] }[];
}

interface ProfileEvent {
  cat?: string;
  name?: string;
  args?: { node_index?: string; op_name?: string; output_type_shape?: Record<string, number[]>[] };
}

/** Runs `feeds` once through a profiled, unoptimized session of `model`; the kernels it ran and their output shapes. */
export async function profileNodeOutputs(model: SessionSource, feeds: Record<string, HostTensor>, opts: SessionOptions = {}): Promise<ProfiledNode[]> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'qtool-profile-'));
  try {
    const session = await Session.open(model, { ...opts, optimizationLevel: 'disabled', profileFilePrefix: path.join(dir, 'run') });
    try {
      await session.run(feeds);
    } finally {
      await session.close();
    }
    const file = fs.readdirSync(dir).find((f) => f.endsWith('.json'));
    if (!file) return [];
    const events = JSON.parse(fs.readFileSync(path.join(dir, file), 'utf8')) as ProfileEvent[];
    const nodes: ProfiledNode[] = [];
    for (const e of events) {
      if (e.cat !== 'Node' || !e.name?.endsWith('_kernel_time') || !e.args?.output_type_shape) continue;
      nodes.push({
        name: e.name.slice(0, -'_kernel_time'.length),
        index: Number(e.args.node_index),
        op: e.args.op_name ?? '',
        outputs: e.args.output_type_shape.map((o) => {
          const [type, dims] = Object.entries(o)[0] ?? ['', []];
          return { type, dims };
        }),
      });
    }
    return nodes;
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

const BYTES: Record<string, number> = { float: 4, double: 8, float16: 2, int64: 8, int32: 4, int16: 2, uint16: 2, int8: 1, uint8: 1, bool: 1 };

/**
 * Bytes of each output of `nodes` (the graph's nodes in model order) in the profiled run, by
 * tensor name. A kernel is matched to its node by name when the name is unique, else by index and
 * op type; tensors of nodes that did not run a kernel (constants, subgraph bodies) are absent.
 */
export function tensorBytes(nodes: readonly { name: string; opType: string; outputs: readonly string[] }[], profiled: readonly ProfiledNode[]): Map<string, number> {
  const count = new Map<string, number>();
  for (const n of nodes) if (n.name) count.set(n.name, (count.get(n.name) ?? 0) + 1);
  const byName = new Map(nodes.filter((n) => n.name && count.get(n.name) === 1).map((n) => [n.name, n]));
  const out = new Map<string, number>();
  for (const p of profiled) {
    const byIndex = nodes[p.index];
    const node = (p.name && byName.get(p.name)) || (byIndex && byIndex.opType === p.op && byIndex.name === p.name ? byIndex : undefined);
    if (!node || node.opType !== p.op) continue;
    p.outputs.forEach((o, k) => {
      const name = node.outputs[k];
      const size = BYTES[o.type];
      if (name && size !== undefined && o.dims.every((d) => Number.isInteger(d) && d >= 0)) out.set(name, o.dims.reduce((a, d) => a * d, size));
    });
  }
  return out;
}
