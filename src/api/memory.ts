// A full garbage collection, for the large-model path only. V8 schedules major collections by
// heap growth: after a large model's rewrite the plan's integers and the written weights (each a
// quarter of the float model) are garbage that nothing collects while verification allocates little
// and onnxruntime's native memory grows, so they would count twice in the peak RSS (measured on the
// 2 GB model of scripts/large-model.mjs: 1.03 GB of dead ArrayBuffers kept through verification).
// Jest's leak detector reaches gc() the same way.
import v8 from 'node:v8';
import vm from 'node:vm';

let gc: (() => void) | null | undefined;

export function collectGarbage(): void {
  if (gc === undefined) {
    const exposed = (globalThis as { gc?: () => void }).gc;
    if (typeof exposed === 'function') gc = exposed;
    else {
      try {
        v8.setFlagsFromString('--expose-gc');
        gc = vm.runInNewContext('gc') as () => void;
      } catch {
        gc = null;
      }
    }
  }
  gc?.();
}
