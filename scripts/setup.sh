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

# Both steps are skipped when nothing they depend on changed since the last successful run
# (a stamp of the inputs' SHA-256 under build/), so the README's test command does not
# reinstall packages or rebuild the extension (~2 min, 5 nvcc steps) every time.
mkdir -p build
stamp() { cat "$@" 2>/dev/null | sha256sum | cut -d' ' -f1; }
req_stamp="$( (stamp requirements.txt; $PY --version) | sha256sum | cut -d' ' -f1)"
if [ "$(cat build/.requirements.stamp 2>/dev/null)" = "$req_stamp" ] && $PY -c "import torch, compressai" 2>/dev/null; then
  echo "== requirements.txt unchanged since the last set-up: pip install skipped"
else
  echo "== pip install -r requirements.txt"
  $PY -m pip install -q --disable-pip-version-check -r requirements.txt
  echo "$req_stamp" > build/.requirements.stamp
fi

ext_stamp="$( (stamp setup.py pyproject.toml $(find csrc -type f | sort); $PY -c "import torch; print(torch.__version__)"; \
  command -v nvcc; echo "${LEARNED_CODEC_NO_CUDA:-}") | sha256sum | cut -d' ' -f1)"
if [ "$(cat build/.extension.stamp 2>/dev/null)" = "$ext_stamp" ] && \
   $PY -c "import learned_codec._C" 2>/dev/null && command -v learned-codec >/dev/null; then
  echo "== csrc/ and setup.py unchanged since the last build: extension build skipped"
  $PY -c "import learned_codec._C as C; print('learned_codec._C imported; CUDA kernels compiled in:', C.cuda_built)"
  exit 0
fi

echo "== build learned_codec._C (setup.py, torch cpp_extension + ninja)"
# -v so the build's own lines (CUDA or not, nvcc commands) reach the log.
$PY -m pip install --disable-pip-version-check --no-build-isolation -v -e . >build-extension.log 2>&1 || {
  tail -n 60 build-extension.log; echo "extension build failed (full log: build-extension.log)" >&2; exit 1; }
grep -E "learned-codec: building" build-extension.log | head -n 1
echo "nvcc compile steps: $(grep -cE '/nvcc .*\.cu' build-extension.log || true)"
$PY -c "import learned_codec._C as C; print('learned_codec._C imported; CUDA kernels compiled in:', C.cuda_built)"
echo "$ext_stamp" > build/.extension.stamp
