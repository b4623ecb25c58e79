// An already-quantized model is refused with one line, unless --requantize.
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { UnsupportedError, quantize } from '../../src/index.js';
import { CALIB, fixture, tmpDir } from './helpers.js';

const dir = tmpDir('requant');

describe('already-quantized models', () => {
  it.each([['static QDQ', { calibCount: 20 }], ['dynamic', { mode: 'dynamic' as const }], ['qoperator', { calibCount: 20, format: 'qoperator' as const }]])('a %s output is refused; --requantize quantizes it anyway', async (_, config) => {
    const once = await quantize(fixture('resnet_mini'), { output: path.join(dir, `once-${_}.onnx`), data: CALIB, config });
    const again = quantize(once.output, { output: path.join(dir, `twice-${_}.onnx`), data: CALIB, config: { calibCount: 20 } });
    await expect(again).rejects.toThrow(UnsupportedError);
    await expect(again).rejects.toThrow(/already quantized \(\d+ \w+.*--requantize/);
    const forced = await quantize(once.output, { output: path.join(dir, `forced-${_}.onnx`), data: CALIB, config: { calibCount: 20 }, requantize: true });
    expect(forced.output).toMatch(/forced/);
  });
});
