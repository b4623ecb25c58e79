// The Report: one plain, JSON-serialisable object that every renderer (terminal, JSON, Markdown,
// HTML) reads. Schema `qtool.report`, version 1. Non-finite numbers (an SQNR of +∞ when two
// tensors are identical) are written to JSON as the strings "Infinity", "-Infinity", "NaN".

export const REPORT_SCHEMA = 'qtool.report';
export const REPORT_VERSION = 1;

/** Metadata keys a qtool-written quantized model carries (the rewrite's explicit tensor map). */
export const TENSOR_MAP_KEY = 'qtool.tensor_map';
export const VERSION_KEY = 'qtool.version';
/** Optional: the QuantPlan's node list (name, opType, status, reason), for "what stayed float and why". */
export const NODES_KEY = 'qtool.nodes';

export type Hint = 'clipping-dominated' | 'rounding-dominated' | 'exact';
export type GateName = 'max-drop' | 'min-sqnr' | 'min-agreement';

export interface ModelSummary {
  path: string;
  bytes: number;
  /** 'float' (no Q/DQ or integer ops), 'qdq', 'qoperator', or 'mixed'. */
  format: 'float' | 'qdq' | 'qoperator' | 'mixed';
  producer: string;
  /** `qtool.version` from the model's metadata, when qtool wrote it. */
  qtoolVersion: string | null;
  nodes: number;
}

export interface ClassifierMetrics {
  classes: number;
  /** Fraction of samples whose float and quantized argmax agree (0..1). */
  top1Agreement: number;
  /** With labels (primary output only). Accuracies are fractions 0..1; dropPp is percentage points. */
  accuracy: { float: number; quantized: number; dropPp: number } | null;
}

export interface OutputMetrics {
  name: string;
  /** Dims of one batch as onnxruntime returned them (first batch). */
  shape: number[];
  elements: number;
  sqnrDb: number;
  cosine: number;
  maxAbs: number;
  meanAbs: number;
  /** For [N, C] outputs with C > 1. */
  classifier: ClassifierMetrics | null;
}

export interface NodeStatusEntry {
  name: string;
  opType: string;
  reason: string;
}

export interface Coverage {
  /** 'metadata' when the quantized model carries the plan's node list, else derived from the graph. */
  source: 'metadata' | 'structure';
  quantized: number;
  float: number;
  /** Op type → nodes quantized / left in float. */
  byOp: Record<string, { quantized: number; float: number }>;
  floatNodes: NodeStatusEntry[];
}

export interface LayerHistogram {
  /** counts[i] covers [lo + i·w, lo + (i+1)·w), w = (hi − lo) / counts.length. */
  lo: number;
  hi: number;
  counts: number[];
}

export interface LayerMetrics {
  /** 1 = worst (lowest own SQNR). */
  rank: number;
  /** Float tensor name (float model). */
  tensor: string;
  /** Tensor in the quantized model holding its dequantized value. */
  quantized: string;
  dtype: string;
  scale: number;
  zeroPoint: number;
  /** The calibrated range the quantizer chose (from the tensor map), or the representable range. */
  range: [number, number];
  /** Values the integer grid represents: [(qmin − z)·s, (qmax − z)·s]; outside is clipped. */
  clipRange: [number, number];
  algo: string | null;
  /** Observed [min, max] of the float tensor over the evaluation data. */
  observed: [number, number];
  elements: number;
  /** SQNR (dB) of the error this tensor adds on its own: float T vs fake-quantized float T. */
  ownSqnrDb: number;
  /** SQNR (dB) of float T vs the quantized model's dequantized T (all upstream error included). */
  accumulatedSqnrDb: number;
  /** Share of the own error energy from values outside clipRange (0..1); the rest is rounding. */
  clipErrorShare: number;
  /** Fraction of values outside clipRange. */
  clippedFraction: number;
  hint: Hint;
  /** Kept for the worst tensors only. */
  histogram: LayerHistogram | null;
  /**
   * Nodes of the float model (as the user wrote it; BatchNormalization folded into its Conv) that
   * produce the tensor — the quantized op first, then ops whose range it absorbed (a Relu) — and
   * that consume it. These are the names --exclude-nodes takes.
   */
  nodes: { producers: string[]; consumers: string[] };
}

export interface LayerSection {
  /** Always true: per-layer figures come from instrumented copies of both graphs. */
  instrumented: true;
  note: string;
  /** How float tensors were matched: the model's qtool.tensor_map, or Q→DQ structure. */
  mapSource: 'metadata' | 'structure';
  /** Which float graph was instrumented: the file as given, or after qtool's prepare passes. */
  floatGraph: 'original' | 'prepared';
  /** Passes over the data (tensors are observed in groups to bound memory). */
  passes: number;
  /** Samples the per-layer figures are summed over: the first of the evaluation data (--layer-samples; the output metrics use every sample). */
  samples: number;
  tensors: LayerMetrics[];
  /** Tensors not analysed, and why. */
  skipped: { tensor: string; reason: string }[];
  /** Float tensors that share the quantized tensor of `into` (e.g. a Conv output whose following Relu was folded into its range): analysed as `into`. */
  absorbed: { tensor: string; into: string }[];
}

export interface LatencyResult {
  batch: number;
  /** Median milliseconds per run. */
  floatMs: number;
  quantizedMs: number;
  /** floatMs / quantizedMs: above 1 the quantized model is faster. */
  speedup: number;
  /** Alternating rounds timed at this batch size, and runs of each model per round. */
  rounds?: number;
  runsPerRound?: number;
}

export interface LatencySection {
  threads: number;
  rounds: number;
  runsPerRound: number;
  results: LatencyResult[];
  skipped: { batch: number; reason: string }[];
  /** True when the quantized model's median is slower than the float one's at any batch size by more than the tolerance. */
  quantizedSlower: boolean;
  /** Ratio quantizedMs / floatMs above which the quantized model counts as slower. */
  slowerTolerance: number;
  /** Which sessions were timed: the evaluation pass's (instrumented graphs, model outputs fetched) or ones opened on the model files. */
  sessions?: 'evaluation' | 'files';
  /** What was timed and how, in words. */
  note?: string;
}

export interface Gates {
  /** Largest accuracy drop allowed, in percentage points (needs labels). */
  maxDrop?: number;
  /** Smallest SQNR (dB) allowed on the primary output. */
  minSqnr?: number;
  /** Smallest top-1 agreement (fraction 0..1) allowed on the primary output. */
  minAgreement?: number;
}

export interface GateResult {
  gate: GateName;
  flag: string;
  threshold: number;
  /** The measured value, or null when it could not be measured (which fails the gate). */
  actual: number | null;
  passed: boolean;
  message: string;
}

export interface GateSection {
  passed: boolean;
  results: GateResult[];
}

/** A warning with a stable code (tests and tools match the code, never the English). */
export interface ReportWarning {
  code: WarningCode;
  message: string;
}

export type WarningCode =
  | 'quantized-slower'
  | 'output-sqnr-low'
  | 'output-agreement-low'
  | 'output-not-compared'
  | 'no-quantized-ops'
  | 'no-tensor-map'
  | 'tensor-map-unusable'
  | 'no-layer-targets';

/** Thresholds under which verification warns that an output collapsed (codes output-sqnr-low / output-agreement-low). */
export interface CollapseThresholds {
  /** Smallest output SQNR (dB) that passes without a warning (default 20). */
  minSqnrDb?: number;
  /** Smallest top-1/argmax agreement (fraction 0..1) that passes without a warning (default 0.98). */
  minAgreement?: number;
}

/** What to try next: the worst layers' nodes and the commands that keep them out of int8. */
export interface Suggestion {
  /** Quantized nodes behind the worst layers, worst first. */
  nodes: string[];
  /** Re-run that keeps those nodes in float. */
  excludeCommand: string;
  /** Re-run with 16-bit activations everywhere (keeps the plan otherwise). */
  int16Command: string;
}

export interface Report {
  schema: typeof REPORT_SCHEMA;
  version: typeof REPORT_VERSION;
  generator: { name: 'qtool'; version: string };
  createdAt: string;
  models: { float: ModelSummary; quantized: ModelSummary };
  /** ratio = quantizedBytes / floatBytes. */
  size: { floatBytes: number; quantizedBytes: number; ratio: number };
  data: {
    dir: string;
    samples: number;
    batchSize: number;
    /** True when evaluated on the calibration samples: the figures are optimistic. */
    inSample: boolean;
    labels: string | null;
  };
  primaryOutput: string;
  outputs: OutputMetrics[];
  coverage: Coverage;
  /** null with --no-per-layer. */
  layers: LayerSection | null;
  /** null when latency was not measured. */
  latency: LatencySection | null;
  /** null when no gate was given. */
  gates: GateSection | null;
  warnings: ReportWarning[];
  /** null when nothing was ranked (no per-layer analysis, or no quantized node found). */
  suggestion: Suggestion | null;
}
