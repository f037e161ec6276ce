#!/usr/bin/env bash
# The checks that need a CUDA GPU, as one short run (a few minutes on one H100/H200):
#   1. tests/test_cuda.py: cfg_2 training steps under fp16 autocast + GradScaler (the original) and bf16, fp32 eval
#      on GPU vs CPU, a tiny train.py run on the GPU whose checkpoint loads strictly on CPU; and
#      tests/test_depthwise_conv.py: the depthwise conv's values and gradients vs float64 on the GPU;
#   2. model speed on the GPU (scripts/benchmark_models.py), cfg_1 and cfg_2;
#   3. training throughput of cfg_2 through train.py's own step, fp16 and bf16 (scripts/benchmark_training.py;
#      random batches unless the datamount holds prepared data).
# Usage:  bash scripts/gpu_check.sh [OUT_DIR]      (default datamount/gpu_check; reports and logs land there)
# Needs this repo's requirements in `python3` (or $PYTHON). On a machine without network, carry missing wheels
# (rapidfuzz, faker, neptune, ...) and put them on PYTHONPATH first.
set -uo pipefail
OUT_DIR=${1:-datamount/gpu_check}
PY=${PYTHON:-python3}
export PYTHONUNBUFFERED=1
mkdir -p "$OUT_DIR"
status=0
run() {  # run "name" command...: log to $OUT_DIR/name.log, remember a failure, go on
  local name=$1; shift
  echo "== $name: $*"
  "$@" 2>&1 | tee "$OUT_DIR/$name.log" || status=1
}
run env "$PY" -c "import torch; print(torch.__version__, torch.cuda.get_device_name(), torch.cuda.is_bf16_supported())"
run tests "$PY" -m pytest -q -m cuda -rs tests/test_cuda.py tests/test_depthwise_conv.py
run models "$PY" scripts/benchmark_models.py --configs cfg_1 cfg_2 --device cuda --batch-size 64 \
  --output "$OUT_DIR/models_cuda.json"
run train_fp16 "$PY" scripts/benchmark_training.py --configs cfg_2 --steps 20 --out "$OUT_DIR/training_fp16.json" \
  --device cuda --batch_size 64 --amp_dtype float16
run train_bf16 "$PY" scripts/benchmark_training.py --configs cfg_2 --steps 20 --out "$OUT_DIR/training_bf16.json" \
  --device cuda --batch_size 64 --amp_dtype bfloat16
echo "gpu_check: $([ $status -eq 0 ] && echo all passed || echo FAILURES, see $OUT_DIR/*.log)"
exit $status
