// The public library API. Nothing else is public.
export { readModel, writeModel } from './api/model-io.js';
export { inspectModel, type InspectReport, type TensorSummary } from './api/inspect.js';
export { QtoolError, UserInputError, ModelError, UnsupportedError, UsageError, GateError } from './errors.js';
export type { Model, Graph, Node, Tensor, ValueInfo } from './ir/index.js';
