#!/usr/bin/env bash
# Creates (or reuses) a virtual environment with a CPU build of torch, fairseq and this package.
#   VENV=path (default .venv)   PYTHON=interpreter (default python3)
# fairseq is built with --no-build-isolation so its build uses the torch installed here rather than
# pulling a multi-GB CUDA torch into an isolated build environment.
set -euo pipefail
cd "$(dirname "$0")/.."
VENV=${VENV:-.venv}
PYTHON=${PYTHON:-python3}

[ -x "$VENV/bin/python" ] || "$PYTHON" -m venv "$VENV"
py="$VENV/bin/python"
pip() { "$py" -m pip --disable-pip-version-check -q "$@"; }

# torch first, pinned: on a CPU machine 2.13.0 is a local CPU wheel, an unpinned torch may be CUDA.
"$py" -c "import torch" 2>/dev/null || pip install "torch==2.13.0"
# Triton kernels: CI runs their tests in Triton's CPU interpreter; keep a GPU torch's own Triton.
"$py" -c "import triton" 2>/dev/null || pip install "triton==3.9.0"
pip install "cython" "numpy<2" "setuptools>=77" "wheel"
if ! "$py" -c "import fairseq" 2>/dev/null; then
  if "$py" -c "import sys; sys.exit(sys.version_info < (3, 11))"; then
    pip install --no-build-isolation "fairseq-fixed==0.12.3.1"
  else
    pip install --no-build-isolation "fairseq==0.12.2"
  fi
fi
pip install --no-build-isolation -e ".[test,bench]"
# the compiled CPU kernels (fmm_attention/_cpu*.so), against this environment's torch; pip's editable
# install builds in an isolated environment without torch, so they are built here (a failure is reported
# and leaves the torch path)
"$py" setup.py -q build_ext --inplace
"$py" -c "import torch, fairseq, fmm_fairseq; from fmm_attention import compiled; print('ready: torch', torch.__version__, '| fairseq', fairseq.__version__, '| compiled CPU kernels:', compiled.unavailable_reason() or 'built')"
