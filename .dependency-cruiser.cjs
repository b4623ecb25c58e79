// The layering of src/ (DESIGN.md's layout table), checked by `npm run lint:layers` (part of
// `npm test`). Each folder may import only the folders listed for it; nothing imports cli/.
// Where today's tree legitimately differs from the table it is said here:
//   data/        also onnx/ (TensorProto .pb files are decoded by the protobuf boundary)
//   calibration/ also config/ (range settings) and quant/rules/ (which ops preserve values is a rule fact)
//   quant/, passes/ also errors
//   cli/         also version.ts
//   everything that may import errors.ts may import limits.ts (bounds on numbers read from files)
//   config/      also math/range-registry.ts (the algorithm choices come from the range registry)
const only = (folder, allowed) => ({
  name: `layer-${folder.replace(/\W/g, '')}`,
  comment: `src/${folder} may import only ${allowed.length ? allowed.map((a) => a.replace(/\\|\$/g, '')).join(', ') : 'nothing of ours'}`,
  severity: 'error',
  from: { path: `^src/${folder}` },
  to: { path: '^src/', pathNot: [`^src/${folder}`, ...allowed.map((a) => `^src/${a}`)] },
});

module.exports = {
  forbidden: [
    only('math/', []),
    only('ir/', ['math/', 'errors\\.ts$', 'limits\\.ts$']),
    only('onnx/', ['ir/', 'errors\\.ts$', 'limits\\.ts$']),
    only('runtime/', ['ir/', 'errors\\.ts$', 'limits\\.ts$']),
    only('data/', ['ir/', 'onnx/', 'errors\\.ts$', 'limits\\.ts$']),
    only('config/', ['math/range-registry\\.ts$', 'errors\\.ts$', 'limits\\.ts$']),
    only('calibration/', ['ir/', 'onnx/', 'runtime/', 'data/', 'math/', 'config/', 'quant/rules/', 'errors\\.ts$', 'limits\\.ts$']),
    only('quant/', ['ir/', 'math/', 'config/', 'errors\\.ts$', 'limits\\.ts$']),
    only('passes/', ['ir/', 'math/', 'quant/', 'config/', 'errors\\.ts$', 'limits\\.ts$']),
    only('report/', ['ir/', 'onnx/', 'runtime/', 'data/', 'math/', 'errors\\.ts$', 'limits\\.ts$']),
    only('cli/', ['index\\.ts$', 'version\\.ts$']),
    {
      name: 'nothing-imports-cli',
      severity: 'error',
      from: { path: '^src/', pathNot: '^src/cli/' },
      to: { path: '^src/cli/' },
    },
  ],
  options: {
    tsConfig: { fileName: 'tsconfig.json' },
    tsPreCompilationDeps: true,
    doNotFollow: { path: 'node_modules' },
    exclude: { path: 'node_modules' },
  },
};
