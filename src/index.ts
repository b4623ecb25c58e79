// The public library API. Nothing else is public.
export { readModel, writeModel } from './api/model-io.js';
export { inspectModel, type InspectReport, type TensorSummary } from './api/inspect.js';
export { QtoolError, UserInputError, ModelError, UnsupportedError, UsageError, GateError } from './errors.js';
export type { Model, Graph, Node, Tensor, ValueInfo } from './ir/index.js';
export { calibrate, mergeStatsFiles, loadStats, saveStats, mergeStats, rangesFromStats, serializeStats, type CalibrateOptions, type MergeOptions, type StatsFile, type TensorStats, type RangeEntry, type RangeConfig, type ModelIdentity } from './api/calibrate.js';
export { quantize, type QuantizeOptions, type QuantizeResult, type VerifyOptions } from './api/quantize.js';
export { foldBn } from './api/fold-bn.js';
export {
  DEFAULTS, TARGET_PRESETS, QUANT_SCHEMA, JOB_SCHEMA, RECIPE_SCHEMA, CALIBRATE_METHODS, COMMAND_LINE, checkLayer, checkValue, throwAll, flagName, helpText,
  isQuantKey, type QuantConfig, type QuantConfigInput, type JobOptions, type RecipeKey, type QuantKey, type JobKey, type SchemaEntry,
  type Algo, type Format, type Mode, type Target, type TargetChoice, type ActivationType, type WeightType, type EdgePolicy,
} from './config/index.js';
export { upgrade, type UpgradeReport, type UpgradeStep, type UpgradeRefusal } from './api/upgrade.js';
export { RANGE_ALGORITHM_NAMES } from './math/range-registry.js';
export { loadRecipe, resolveConfig, PHASES, type PhaseEvent, type PhaseName, type OnPhase } from './api/options.js';
export type { QuantPlan, Overrides, NodePlan } from './quant/plan.js';
export type { Note, NoteCode, Reason, ReasonCode } from './quant/reasons.js';
export { compare, compareModels, verifyAndReport, type CompareOptions, type ModelPair } from './api/compare.js';
export {
  applyGates, evaluateGates, gateFailureMessage, validateGates, writeReports, reportFiles, reportFormat, renderReport, renderText, renderJson,
  renderMarkdown, renderHtml, parseReport, reportWarnings, collapses, LOUD_CODES, COLLAPSE_DEFAULTS, REPORT_SCHEMA, REPORT_VERSION, TENSOR_MAP_KEY, VERSION_KEY, NODES_KEY,
  type Report, type ReportWarning, type Suggestion, type CollapseThresholds, type Gates, type GateResult, type LayerMetrics, type OutputMetrics, type LatencySection, type Progress, type ReportFormat,
} from './report/index.js';
export { sensitivity, type SensitivityOptions, type SensitivityResult, type UnitSensitivity } from './api/sensitivity.js';
export { autotune, parseBudget, type AutotuneOptions, type AccuracyTarget, type SearchRecord, type SearchStep } from './api/autotune.js';
export { renderSearchHtml, renderSearchText, renderSensitivityHtml, renderSensitivityText, toJson as tuningJson, writeTuningFiles } from './api/render-tuning.js';
