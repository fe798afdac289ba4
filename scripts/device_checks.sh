#!/usr/bin/env bash
# The GPU checks, in one run, for a session that is lent a device machine (see the tool
# library's device README): build learned_codec._C against that machine's torch, then
#   1. the CUDA cases of the op tests (every op on cpu and cuda against the references),
#   2. compute-sanitizer memcheck over the same CUDA op tests,
#   3. the GPU-encode / CPU-decode test of the entropy models (needs CompressAI),
#   4. the GPU benchmarks of the native ops (-> $OUT/ops_gpu.json).
# The device machine has its own torch but no CompressAI; carry it as wheels in .whl/
# (device README: `pip download --no-deps ... -d .whl compressai==1.2.8` and its missing
# requirements), then:
#   run(command="bash scripts/device_checks.sh", carry=[".whl"], timeout_s=540)
# Prepared without a GPU (none was lent when it was written): the first session that
# runs it should expect to fix a detail or two.
set -uo pipefail
cd "$(dirname "$0")/.."
OUT=${OUT:-/tmp/device-out}
mkdir -p "$OUT"
export PYTHONUNBUFFERED=1
log() { echo "== [$(date +%T)] $*"; }

if compgen -G ".whl/*.whl" >/dev/null; then
  log "carried wheels -> /tmp/site"
  python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade \
    --target /tmp/site .whl/*.whl && export PYTHONPATH=/tmp/site${PYTHONPATH:+:$PYTHONPATH}
fi

log "build learned_codec._C against $(python3 -c 'import torch; print(torch.__version__)')"
python3 -m pip install --no-deps --no-build-isolation -q -e . >"$OUT/build.log" 2>&1 \
  || { tail -n 40 "$OUT/build.log"; echo "build failed"; exit 1; }
python3 -c "import learned_codec._C as C, torch; print('cuda built:', C.cuda_built, '| device:', torch.cuda.get_device_name(0))"

status=0
log "1. CUDA op tests"
python3 -m pytest -q -p no:cacheprovider tests/test_ops.py -k cuda 2>&1 | tee "$OUT/test_ops_cuda.log" | tail -n 15 || status=1

log "2. compute-sanitizer memcheck (CUDA op tests)"
if command -v compute-sanitizer >/dev/null; then
  compute-sanitizer --tool memcheck --error-exitcode 9 --print-limit 20 \
    python3 -m pytest -q -p no:cacheprovider tests/test_ops.py -k cuda -x 2>&1 \
    | tee "$OUT/memcheck.log" | tail -n 15 || status=1
else
  echo "compute-sanitizer not found"; status=1
fi

log "3. GPU-encode / CPU-decode of the entropy models"
python3 -m pytest -q -p no:cacheprovider tests/test_entropy_models.py -k "gpu or thread" 2>&1 \
  | tee "$OUT/entropy_gpu.log" | tail -n 15 || status=1

log "4. GPU benchmarks of the native ops"
python3 -m pytest -q -p no:cacheprovider benchmarks/bench_ops.py -k gpu \
  --benchmark-json="$OUT/ops_gpu.json" 2>&1 | tail -n 30 || status=1

log "done (status $status); logs and ops_gpu.json in $OUT"
exit $status
