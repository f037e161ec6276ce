#!/usr/bin/env bash
# The checks that need a CUDA GPU, as one short run (a few minutes on one H100/H200):
#   1. tests/test_cuda.py: cfg_2 training steps under fp16 autocast + GradScaler (the original) and bf16, fp32 eval
#      on GPU vs CPU, a tiny train.py run on the GPU whose checkpoint loads strictly on CPU; and
#      tests/test_depthwise_conv.py: the depthwise conv's values and gradients vs float64 on the GPU;
#   2. model speed on the GPU (scripts/benchmark_models.py), cfg_2 and cfg_1 at batch 32: step time vs the
#      original-style model in alternating rounds, the kernel-time profile, and max_memory_allocated of one step;
#   3. training throughput of cfg_2 at batch 32 through train.py's own step, fp16 (the original's AMP), bf16 and
#      bf16 + torch.compile, with the projected time of one full-fit epoch (~67.7k samples) and of 400 epochs
#      (scripts/benchmark_training.py; random batches unless the datamount holds prepared data).
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
run models "$PY" scripts/benchmark_models.py --configs cfg_2 cfg_1 --device cuda --batch-size 32 --baseline \
  --rounds 3 --profile --memory --memory-batch 32 --output "$OUT_DIR/models_cuda.json"
for variant in "fp16 float16 False" "bf16 bfloat16 False" "bf16_compile bfloat16 True"; do
  set -- $variant
  run "train_$1" "$PY" scripts/benchmark_training.py --configs cfg_2 --steps 20 --out "$OUT_DIR/training_$1.json" \
    --device cuda --batch_size 32 --mixed_precision True --amp_dtype "$2" --compile "$3"
done
echo "gpu_check: $([ $status -eq 0 ] && echo all passed || echo FAILURES, see $OUT_DIR/*.log)"
exit $status
