#!/usr/bin/env bash
# A CI model-compression step (docs/ci.md): quantize → gate → publish the Markdown summary → keep
# the JSON/HTML reports as artifacts. Configure it with environment variables:
#
#   MODEL       float model                       (default fixtures/mnist/lenet_bn.onnx)
#   CALIB_DATA  calibration data folder           (default calibration-data/mnist)
#   EVAL_DATA   held-out evaluation data folder   (default eval-data/mnist-test/data)
#   LABELS      labels of EVAL_DATA, JSON array   (default eval-data/mnist-test/labels.json)
#   MAX_DROP    largest accuracy drop allowed, percentage points (default 0.5)
#   OUT_DIR     where the model and reports go    (default qtool-out)
#   QTOOL       how to run qtool                  (default: npx --no-install qtool)
#   QTOOL_ARGS  extra quantize flags, e.g. "--algo kl --min-agreement 0.99"
#
# Exit code: qtool's own — 0 gates passed, 3 an accuracy gate failed (the model and the reports
# are still written, so publish them either way), 1/2 anything else.
set -euo pipefail

MODEL=${MODEL:-fixtures/mnist/lenet_bn.onnx}
CALIB_DATA=${CALIB_DATA:-calibration-data/mnist}
EVAL_DATA=${EVAL_DATA:-eval-data/mnist-test/data}
LABELS=${LABELS:-eval-data/mnist-test/labels.json}
MAX_DROP=${MAX_DROP:-0.5}
OUT_DIR=${OUT_DIR:-qtool-out}
read -r -a QTOOL_CMD <<< "${QTOOL:-npx --no-install qtool}"
read -r -a EXTRA <<< "${QTOOL_ARGS:-}"

mkdir -p "$OUT_DIR"
out_model="$OUT_DIR/$(basename "$MODEL" .onnx).int8.onnx"

# 1. Quantize, verify on held-out data and gate, in one command.
status=0
"${QTOOL_CMD[@]}" quantize "$MODEL" --data "$CALIB_DATA" -o "$out_model" \
  --eval-data "$EVAL_DATA" --labels "$LABELS" \
  --report "$OUT_DIR/report.json" --report "$OUT_DIR/report.md" --report "$OUT_DIR/report.html" \
  --max-drop "$MAX_DROP" ${EXTRA[@]+"${EXTRA[@]}"} --json > "$OUT_DIR/quantize.log" || status=$?

# 2. Publish the Markdown summary: the job summary on GitHub Actions, the log elsewhere.
if [ -f "$OUT_DIR/report.md" ]; then
  if [ -n "${GITHUB_STEP_SUMMARY:-}" ]; then
    cat "$OUT_DIR/report.md" >> "$GITHUB_STEP_SUMMARY"
  else
    cat "$OUT_DIR/report.md"
  fi
fi

# 3. The reports stay in $OUT_DIR for the artifact upload; say what happened and pass the code on.
case "$status" in
  0) echo "qtool: gates passed; model $out_model, reports in $OUT_DIR/" ;;
  3) echo "qtool: an accuracy gate FAILED (see $OUT_DIR/report.md); model and reports are still in $OUT_DIR/" >&2 ;;
  *) echo "qtool: quantize failed with exit code $status (see the log above)" >&2 ;;
esac
exit "$status"
