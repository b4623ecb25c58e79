// What the host CPU offers onnxruntime's int8 kernels (ORT-NOTES.md; onnxruntime's quantization
// docs, "reduce_range"). On x86-64 without VNNI, MLAS computes u8×s8 products with vpmaddubsw,
// whose 16-bit pair sums saturate once both operands use their full range: a model with 8-bit
// int8 weights loses 10-25 dB there (measured on the fixtures). 7-bit weights (reduce range)
// keep the pair sums within int16.
import fs from 'node:fs';
import os from 'node:os';

export interface HostCpu {
  arch: string;
  /** The CPU has an int8 dot-product instruction onnxruntime uses without saturation. */
  int8DotProduct: boolean;
  /** How that was decided, for the note a user reads. */
  evidence: string;
}

let cached: HostCpu | undefined;

export function hostCpu(): HostCpu {
  if (cached) return cached;
  cached = detect();
  return cached;
}

function detect(): HostCpu {
  const arch = os.arch();
  // Arm's int8 kernels (sdot/udot or widening multiplies) do not saturate.
  if (arch !== 'x64' && arch !== 'ia32') return { arch, int8DotProduct: true, evidence: `${arch} CPU` };
  const forced = process.env.QTOOL_HOST_VNNI;
  if (forced === '0' || forced === '1') return { arch, int8DotProduct: forced === '1', evidence: `QTOOL_HOST_VNNI=${forced}` };
  let flags: string[] | undefined;
  try {
    const info = fs.readFileSync('/proc/cpuinfo', 'utf8');
    flags = /^flags\s*:\s*(.*)$/m.exec(info)?.[1]?.split(/\s+/);
  } catch {
    flags = undefined;
  }
  if (!flags) return { arch, int8DotProduct: true, evidence: 'CPU flags unknown on this OS (assumed VNNI)' };
  const vnni = flags.find((f) => f === 'avx512_vnni' || f === 'avx_vnni' || f === 'amx_int8');
  return { arch, int8DotProduct: !!vnni, evidence: vnni ? `CPU flag ${vnni}` : 'no avx512_vnni/avx_vnni flag in /proc/cpuinfo' };
}
