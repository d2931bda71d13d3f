#!/usr/bin/env bash
# Optional extra for scripts/bench/attention.py (its `fast_transformers` method): installs
# pytorch-fast-transformers 0.4.0 into .venv. Never a dependency of the plugin itself.
#
#     bash scripts/install_fast_transformers.sh          # ~5 min on 2 cores: compiles its CPU extensions
#
# The package ships as a source distribution whose setup.py builds CUDA extensions whenever running
# `nvcc` succeeds, so every nvcc is hidden from PATH during the build (CPU extensions only). It is
# built against the torch already in .venv (--no-build-isolation) and pulls nothing else (--no-deps).
set -euo pipefail
cd "$(dirname "$0")/.."
py=.venv/bin/python
[ -x "$py" ] || { echo "no .venv: run scripts/setup.sh first" >&2; exit 1; }

# A PATH in which no nvcc can be found: every directory holding one is replaced by a mirror of
# symbolic links to all its other entries (so the compilers and tools next to it stay reachable).
shadow_root=$(mktemp -d)
trap 'rm -rf "$shadow_root"' EXIT
path_without_nvcc=""
index=0
shopt -s nullglob dotglob
IFS=: read -r -a path_dirs <<< "$PATH"
for dir in "${path_dirs[@]}"; do
  if [ -e "$dir/nvcc" ]; then
    index=$((index + 1))
    mirror="$shadow_root/$index"
    mkdir "$mirror"
    for entry in "$dir"/*; do
      if [ "$(basename "$entry")" != nvcc ]; then ln -s "$entry" "$mirror/"; fi
    done
    dir="$mirror"
  fi
  path_without_nvcc="${path_without_nvcc:+$path_without_nvcc:}$dir"
done

PATH="$path_without_nvcc" nice -n 10 "$py" -m pip install --no-build-isolation --no-deps "pytorch-fast-transformers==0.4.0"
"$py" -c "from fast_transformers.causal_product import causal_dot_product; from fast_transformers.local_product import local_dot_product; import fast_transformers; print('ready: fast_transformers', fast_transformers.__version__)"
