#!/usr/bin/env bash
# Install test: the package as a user gets it, not the checkout.
#
#   1. `npm pack` (prepack cleans dist/, prepare rebuilds it) and check the tarball: dist/, bin/,
#      README.md, LICENSE and package.json only; prints its size and file count.
#   2. Install the tarball into a fresh temp project. Its dependencies come from the npm registry
#      (or npm's cache); onnxruntime-node's CUDA download is skipped with its documented switch,
#      ONNXRUNTIME_NODE_INSTALL=skip, the one the README gives users (no .npmrc is involved there).
#   3. `npx qtool --version`, `npx qtool quantize` of a fixture with the bundled calibration data;
#      the output must load and run in onnxruntime-node and hold quantized nodes.
#   4. A TypeScript file that imports `quantize` from 'qtool' type-checks with
#      moduleResolution nodenext and bundler, 'qtool' resolves to its dist/index.d.ts, and a wrong
#      call must be rejected (so the types are real, not `any`).
#
# Usage: bash scripts/install-test.sh [--keep]   (--keep leaves the temp folder for inspection)
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
MODEL="$ROOT/fixtures/mnist/lenet_bn.onnx"
DATA="$ROOT/calibration-data/mnist"
KEEP=0
[[ "${1:-}" == "--keep" ]] && KEEP=1

TMP="$(mktemp -d "${TMPDIR:-/tmp}/qtool-install-test.XXXXXX")"
cleanup() { if [[ $KEEP -eq 1 ]]; then echo "install-test: kept $TMP"; else rm -rf "$TMP"; fi; }
trap cleanup EXIT

fail() { echo "install-test: FAIL: $*" >&2; exit 1; }
step() { echo; echo "== install-test: $* (${SECONDS}s in)"; }

# When run through npm (npm run test:install), npm exports this repo's .npmrc keys to us; drop the
# ones that would make the temp install pass for a reason a user does not have.
unset npm_config_onnxruntime_node_install npm_config_loglevel

# --- 1. pack ------------------------------------------------------------------------------------
step "npm pack"
mkdir -p "$TMP/pack"
(cd "$ROOT" && npm pack --json --pack-destination "$TMP/pack" >"$TMP/pack.json") \
  || fail "npm pack failed (output above)"
node - "$TMP/pack.json" "$ROOT/package.json" <<'EOF'
const fs = require('fs');
const text = fs.readFileSync(process.argv[2], 'utf8');
const start = text.indexOf('[');
if (start < 0) { console.error(`install-test: npm pack printed no JSON:\n${text}`); process.exit(1); }
const [info] = JSON.parse(text.slice(start));
const files = info.files.map((f) => f.path);
const allowed = (p) => /^(dist\/.+\.(js|d\.ts)|bin\/[^/]+|README\.md|LICENSE|package\.json)$/.test(p);
const bad = files.filter((p) => !allowed(p));
const required = ['package.json', 'README.md', 'LICENSE', 'bin/qtool.js', 'dist/index.js', 'dist/index.d.ts', 'dist/cli/main.js'];
const missing = required.filter((p) => !files.includes(p));
const kb = (n) => `${(n / 1024).toFixed(1)} kB`;
console.log(`tarball ${info.filename}: ${kb(info.size)} packed, ${kb(info.unpackedSize)} unpacked, ${info.entryCount} files ` +
  `(${files.filter((p) => p.startsWith('dist/')).length} under dist/)`);
if (bad.length) { console.error(`install-test: FAIL: tarball holds files it must not ship: ${bad.slice(0, 10).join(', ')}${bad.length > 10 ? ', …' : ''}`); process.exit(1); }
if (missing.length) { console.error(`install-test: FAIL: tarball lacks ${missing.join(', ')}`); process.exit(1); }
EOF
TARBALL="$(ls "$TMP"/pack/qtool-*.tgz)"
VERSION="$(node -p "require('$ROOT/package.json').version")"

# --- 2. install into a fresh project ------------------------------------------------------------
step "install the tarball into a fresh project"
APP="$TMP/app"
mkdir -p "$APP"
cat >"$APP/package.json" <<'EOF'
{ "name": "qtool-install-test", "version": "1.0.0", "private": true, "type": "module" }
EOF
# TypeScript and Node's types at the versions this checkout uses, so npm's cache usually has them.
TS_VERSION="$(node -p "require('$ROOT/node_modules/typescript/package.json').version" 2>/dev/null || echo 5)"
NODE_TYPES_VERSION="$(node -p "require('$ROOT/node_modules/@types/node/package.json').version" 2>/dev/null || echo 20)"
(cd "$APP" && ONNXRUNTIME_NODE_INSTALL=skip npm install --prefer-offline --no-audit --no-fund \
  "$TARBALL" "typescript@$TS_VERSION" "@types/node@$NODE_TYPES_VERSION") >"$TMP/install.log" 2>&1 \
  || { cat "$TMP/install.log" >&2; fail "npm install of the tarball failed"; }
cat "$TMP/install.log"
if grep -q 'Unknown .* config' "$TMP/install.log"; then
  fail "npm printed an unknown-config warning while installing qtool"
fi
ORT_BIN="$APP/node_modules/onnxruntime-node/bin/napi-v6/$(node -p 'process.platform + "/" + process.arch')"
[[ -d "$ORT_BIN" ]] || fail "onnxruntime-node has no binaries at $ORT_BIN"
if ls "$ORT_BIN" | grep -q 'providers_cuda'; then
  fail "onnxruntime-node downloaded its CUDA binaries despite ONNXRUNTIME_NODE_INSTALL=skip"
fi

# --- 3. run the CLI and load its output ---------------------------------------------------------
step "npx qtool --version"
cd "$APP"
got="$(npx --no-install qtool --version 2>"$TMP/version.err")" || { cat "$TMP/version.err" >&2; fail "npx qtool --version exited non-zero"; }
[[ "$got" == "$VERSION" ]] || fail "npx qtool --version printed '$got', expected '$VERSION'"
[[ ! -s "$TMP/version.err" ]] || { cat "$TMP/version.err" >&2; fail "npx qtool --version wrote to stderr"; }
echo "$got"

step "npx qtool quantize $(basename "$MODEL") --data $(basename "$DATA")"
OUT="$TMP/out/lenet_bn.int8.onnx"
mkdir -p "$TMP/out"
npx --no-install qtool quantize "$MODEL" -o "$OUT" --data "$DATA" --calib-count 64 --no-latency \
  || fail "npx qtool quantize exited $?"
[[ -s "$OUT" ]] || fail "npx qtool quantize wrote no $OUT"

step "the output loads and runs in onnxruntime-node"
node --input-type=module - "$MODEL" "$OUT" <<'EOF'
import ort from 'onnxruntime-node';
import { readModel } from 'qtool';
const [input, output] = process.argv.slice(2);
const ops = new Map();
for (const n of readModel(output).graph.nodes) ops.set(n.opType, (ops.get(n.opType) ?? 0) + 1);
const quantOps = [...ops].filter(([op]) => /QuantizeLinear|^QLinear|Integer/.test(op));
if (!quantOps.length) { console.error(`install-test: FAIL: ${output} holds no quantized nodes (${[...ops.keys()].join(', ')})`); process.exit(1); }
const run = async (file) => {
  const s = await ort.InferenceSession.create(file);
  const feeds = {};
  for (const m of s.inputMetadata) {
    const dims = m.shape.map((d) => (typeof d === 'number' && d > 0 ? d : 1));
    const n = dims.reduce((a, b) => a * b, 1);
    feeds[m.name] = new ort.Tensor('float32', Float32Array.from({ length: n }, (_, i) => ((i * 7919) % 255) / 255), dims);
  }
  const r = await s.run(feeds);
  await s.release();
  return r[s.outputNames[0]];
};
const [a, b] = [await run(input), await run(output)];
if (a.dims.join() !== b.dims.join()) { console.error(`install-test: FAIL: output shape ${b.dims} differs from the float model's ${a.dims}`); process.exit(1); }
if (![...b.data].every(Number.isFinite)) { console.error('install-test: FAIL: quantized output is not finite'); process.exit(1); }
const argmax = (t) => [...t.data].indexOf(Math.max(...t.data));
console.log(`${output.split('/').pop()}: ${quantOps.map(([op, n]) => `${n} ${op}`).join(', ')}; output ${b.dims.join('x')}, ` +
  `argmax float ${argmax(a)} / int8 ${argmax(b)}`);
EOF

# --- 4. types -----------------------------------------------------------------------------------
step "TypeScript: import { quantize } from 'qtool' (nodenext and bundler)"
cat >"$APP/index.ts" <<'EOF'
import { quantize, type QuantizeOptions, type QuantizeResult } from 'qtool';

const options: QuantizeOptions = { data: 'calib/' };
const result: QuantizeResult = await quantize('model.onnx', options);
const out: string = result.output;
console.log(out);

// The types must be real, not `any`: a wrong argument has to be rejected.
// @ts-expect-error quantize takes a path, not a number
await quantize(42, options);
EOF
# nodenext checks qtool's .d.ts files themselves too (skipLibCheck off, ~3x slower); bundler
# resolves the same files, and the @ts-expect-error line catches types that decay to `any`.
for mode in nodenext bundler; do
  if [[ $mode == nodenext ]]; then module=nodenext skiplib=false; else module=esnext skiplib=true; fi
  cat >"$APP/tsconfig.$mode.json" <<EOF
{
  "compilerOptions": {
    "target": "es2022",
    "module": "$module",
    "moduleResolution": "$mode",
    "strict": true,
    "noEmit": true,
    "skipLibCheck": $skiplib,
    "types": ["node"]
  },
  "files": ["index.ts"]
}
EOF
  ./node_modules/.bin/tsc -p "tsconfig.$mode.json" --traceResolution >"$TMP/tsc.$mode.log" \
    || { grep -A3 'error TS' "$TMP/tsc.$mode.log" >&2 || true; fail "index.ts does not type-check with moduleResolution $mode"; }
  resolved="$(grep -o "Module name 'qtool' was successfully resolved to '[^']*'" "$TMP/tsc.$mode.log" | head -n1)"
  [[ "$resolved" == *"/node_modules/qtool/dist/index.d.ts'" ]] || fail "moduleResolution $mode resolved 'qtool' unexpectedly: ${resolved:-not at all}"
  echo "moduleResolution $mode: ok (${resolved#Module name })"
done

echo
echo "install-test: ok (${SECONDS}s)"
