import type { DataTypeId } from './dtype.js';
import type { TypedData } from './tensor.js';

/** A tensor in host memory: a feed or fetch of a session, or a calibration sample batch. */
export interface HostTensor {
  dtype: DataTypeId;
  dims: readonly number[];
  data: TypedData | string[];
}

/** Named tensors for one run: input name → tensor. */
export type Feeds = Record<string, HostTensor>;
