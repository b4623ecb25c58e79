// Why a node is (not) quantized, and what a run wants the user to know: a stable `code` that tools
// and tests match on, and an English `message` for people (typescript-eslint's messageId pattern).
// Messages may be reworded at will; codes are part of the plan format.

export type ReasonCode =
  // quantized
  | 'quantized' | 'peak-test-int16' | 'pass-through' | 'hardswish-unit' | 'bias-add' | 'float-fed-activation' | 'absorbed'
  | 'dynamic-int8' | 'dynamic-lstm' | 'weight-only-int8' | 'weight-only-int4'
  // float, by the user's choice
  | 'excluded-node' | 'excluded-op' | 'not-included' | 'edge-layer-float'
  // float, by the rules
  | 'no-rule' | 'non-float' | 'no-int8-kernel' | 'weight-not-constant' | 'unsupported-attributes'
  | 'indices-output' | 'isolated-pass-through' | 'float-operand' | 'not-in-mode' | 'no-dynamic-kernel'
  | 'unsupported-layout' | 'weight-shape' | 'decision-tail' | 'untaken-branch' | 'constant-subexpression'
  | 'outlier-channels';

export interface Reason {
  code: ReasonCode;
  message: string;
}

export type NoteCode =
  | 'prepare' | 'auto-target' | 'opset-upgraded' | 'activations-removed' | 'lowered'
  | 'float-layer-feeds-maxpool' | 'peak-test-int16' | 'not-verified' | 'not-checked' | 'block-clipped' | 'recurrent-needs-dynamic' | 'form-caveat' | 'subgraphs-float' | 'untaken-branch' | 'rare-branch' | 'calibration-data' | 'algo-auto'
  | 'equalized' | 'bias-corrected' | 'outlier-channels'
  | 'stochastic-rounding' | 'pow2-scales' | 'group-size' | 'group-size-per-channel';

export interface Note {
  code: NoteCode;
  message: string;
  /** Warnings are shown even with --quiet and are rendered as such in the report. */
  warning?: boolean;
}

export const reason = (code: ReasonCode, message: string): Reason => ({ code, message });
export const note = (code: NoteCode, message: string, warning = false): Note => (warning ? { code, message, warning } : { code, message });
