// Data folders: calibration and evaluation samples as a stream of batches (DESIGN.md "Data folders").
export { openDataFolder, countSamples, type DataOptions, type DataSource } from './folder.js';
export { parsePreprocess, resolveImagePlan, type PreprocessSpec, type ImagePlan, type ImageLayout, type ChannelOrder } from './preprocess.js';
export { checkLabels, readLabels } from './labels.js';
export { batchLength, firstSample } from './feeds.js';
export { parseFixedInputs, type FixedSpec } from './fixed.js';
export { takeDataWarnings } from './health.js';
