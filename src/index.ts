// The public library API. Nothing else is public.
export { readModel, writeModel } from './api/model-io.js';
export { inspectModel, type InspectReport, type TensorSummary } from './api/inspect.js';
export { QtoolError, UserInputError, ModelError, UnsupportedError, UsageError, GateError } from './errors.js';
export type { Model, Graph, Node, Tensor, ValueInfo } from './ir/index.js';
export { calibrate, mergeStatsFiles, loadStats, saveStats, mergeStats, rangesFromStats, serializeStats, type CalibrateOptions, type MergeOptions, type StatsFile, type TensorStats, type RangeEntry, type RangeConfig, type ModelIdentity } from './api/calibrate.js';
export { quantize, type QuantizeOptions, type QuantizeResult } from './api/quantize.js';
export { foldBn } from './api/fold-bn.js';
export { DEFAULTS, TARGET_PRESETS, type QuantConfig } from './config/index.js';
export type { QuantPlan, Overrides, NodePlan } from './quant/plan.js';
export type { Note, NoteCode, Reason, ReasonCode } from './quant/reasons.js';
export { compare, verifyAndReport, type CompareOptions } from './api/compare.js';
export {
  applyGates, evaluateGates, gateFailureMessage, validateGates, writeReports, reportFiles, reportFormat, renderReport, renderText, renderJson,
  renderMarkdown, renderHtml, parseReport, reportWarnings, REPORT_SCHEMA, REPORT_VERSION, TENSOR_MAP_KEY, VERSION_KEY, NODES_KEY,
  type Report, type Gates, type GateResult, type LayerMetrics, type OutputMetrics, type LatencySection, type Progress, type ReportFormat,
} from './report/index.js';
