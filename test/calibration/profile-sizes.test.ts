import { describe, expect, it } from 'vitest';
import { DEFAULTS } from '../../src/config/index.js';
import { firstSample, openDataFolder } from '../../src/data/index.js';
import { encodeModel, readModelFile } from '../../src/onnx/index.js';
import { prepareModel } from '../../src/passes/index.js';
import { tensorsToCalibrate } from '../../src/quant/plan.js';
import { augmentedModelBytes, planObservation } from '../../src/calibration/index.js';
import { profileNodeOutputs, Session, tensorBytes } from '../../src/runtime/index.js';
import { DATA, fixture } from './helpers.js';

// Calibration sizes its passes from one profiled plain run instead of a run that exposes every
// tensor (runtime/profile.ts). The sizes it reads there must be the sizes onnxruntime returns.
describe('tensor sizes from a profiled run', () => {
  for (const name of ['lenet_bn', 'resnet_mini', 'vit_mini']) {
    it(`${name}: every calibrated tensor's bytes equal those of the tensor fetched as an output`, async () => {
      const model = readModelFile(fixture(name));
      prepareModel(model);
      const { fetched } = planObservation(model.graph, tensorsToCalibrate(model.graph, DEFAULTS));
      const source = await openDataFolder(DATA, { inputs: model.graph.feedInputs(), count: 4, batchSize: 4 });
      let feeds;
      for await (const b of source.batches()) {
        feeds = firstSample(b);
        break;
      }
      const encoded = encodeModel(model);
      const sizes = tensorBytes(model.graph.nodes, await profileNodeOutputs(encoded, feeds!));
      const session = await Session.open(augmentedModelBytes(model, fetched, encoded));
      const out = await session.run(feeds!, fetched);
      await session.close();
      expect(fetched.length).toBeGreaterThan(3);
      for (const t of fetched) expect([t, sizes.get(t)]).toEqual([t, (out[t]!.data as Float32Array).byteLength]);
    });
  }
});
