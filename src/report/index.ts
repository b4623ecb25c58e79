// Public surface of src/report: compare float vs quantized, the Report, renderers and gates.
export { REPORT_SCHEMA, REPORT_VERSION, TENSOR_MAP_KEY, VERSION_KEY, NODES_KEY } from './types.js';
export type {
  Report, ModelSummary, OutputMetrics, ClassifierMetrics, Coverage, NodeStatusEntry, LayerSection, LayerMetrics,
  LayerHistogram, LatencySection, LatencyResult, Gates, GateResult, GateSection, GateName, Hint,
  ReportWarning, WarningCode, CollapseThresholds, Suggestion,
} from './types.js';
export { resolveTensorMap, resolveEntries, dequantizeParams, type LayerTarget, type TensorMapping } from './tensor-map.js';
export { EQUALIZE_KEY, recordMetadata, tensorMapEntries, planNodeEntries, readTensorMap, readPlanNodes, type MapEntry, type PlanForMetadata, type PlanNodeEntry, type RewriteMapping } from './metadata.js';
export { COLLAPSE_DEFAULTS, COLLAPSE_CODES, LOUD_CODES, collapseWarnings, collapses, suggestion, tensorNodes, validateCollapse, worstNodes } from './advice.js';
export { OutputAccumulator, LayerAccumulator, displayHistogram, sqnrFromSums, type LayerResult } from './accumulate.js';
export { closeSessions, evaluatePass, instrumentedBytes, DEFAULT_LAYER_BUDGET,  type Progress, type PassResult } from './evaluate.js';
export { measureLatency, slowerWarning, LATENCY_DEFAULTS, LATENCY_NOTES, type LatencyOptions, type OpenSessions } from './latency.js';
export { coverage, modelFormat } from './coverage.js';
export { applyGates, checkGates, evaluateGates, gateFailureMessage, validateGates } from './gates.js';
export { renderText, type TextOptions } from './render-text.js';
export { renderJson, parseReport } from './render-json.js';
export { renderMarkdown, type MarkdownOptions } from './render-markdown.js';
export { renderHtml, type HtmlOptions } from './render-html.js';
export { renderReport, reportFiles, reportFormat, writeReports, type ReportFormat } from './write.js';
export { allWarnings as reportWarnings } from './format.js';
