#!/usr/bin/env bash
# One-time set-up on a fresh machine (idempotent): system packages, pinned
# Python dependencies, and the native extension learned_codec._C.
# Used by the README's two commands and by .ci/run.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-python3}

# Fashion-MNIST ships as a Debian package (no download at run time).
if ! dpkg -s dataset-fashion-mnist >/dev/null 2>&1; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
    echo "== apt-get install dataset-fashion-mnist"
    apt-get update -qq && apt-get install -y -qq dataset-fashion-mnist >/dev/null
  else
    echo "note: dataset-fashion-mnist is not installed (needs root); Fashion-MNIST tests will fail" >&2
  fi
fi

echo "== pip install -r requirements.txt"
$PY -m pip install -q --disable-pip-version-check -r requirements.txt

echo "== build learned_codec._C (setup.py, torch cpp_extension + ninja)"
# -v so the build's own lines (CUDA or not, nvcc commands) reach the log.
$PY -m pip install --disable-pip-version-check --no-build-isolation -v -e . >build-extension.log 2>&1 || {
  tail -n 60 build-extension.log; echo "extension build failed (full log: build-extension.log)" >&2; exit 1; }
grep -E "learned-codec: building" build-extension.log | head -n 1
echo "nvcc compile steps: $(grep -cE '/nvcc .*\.cu' build-extension.log || true)"
$PY -c "import learned_codec._C as C; print('learned_codec._C imported; CUDA kernels compiled in:', C.cuda_built)"
