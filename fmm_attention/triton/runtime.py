"""Imports Triton so that the kernels can run on this machine: compiled for CUDA, else interpreted.

Triton chooses between compiling and interpreting a function when it is decorated with
``@triton.jit``, from the environment variable TRITON_INTERPRET -- and its own standard library
(``tl.zeros``, ``tl.sigmoid``, ...) is decorated when ``triton`` is first imported, some of it
lazily later. So the choice must be made once, before the first ``import triton``, and kept.
Without a CUDA device the CPU interpreter is the only way the kernels can run at all (tests, the
benchmark's dry run), so this module sets TRITON_INTERPRET=1 then, unless the variable is already
set (TRITON_INTERPRET=0 keeps compiled kernels, e.g. to compile for a GPU target without one).
Nothing else in fmm_attention imports Triton, so importing this module first is what decides.
"""
import os
import sys

import torch

if not torch.cuda.is_available() and "TRITON_INTERPRET" not in os.environ:
    if "triton" in sys.modules:
        raise RuntimeError(
            "fmm_attention's Triton kernels: triton was imported before them on a machine without CUDA; "
            "set TRITON_INTERPRET=1 before importing triton to run the kernels in its CPU interpreter"
        )
    os.environ["TRITON_INTERPRET"] = "1"

import triton  # noqa: E402  (must follow the environment set-up above)
import triton.language as tl  # noqa: E402

INTERPRET = os.environ.get("TRITON_INTERPRET") == "1"

__all__ = ["INTERPRET", "tl", "triton"]
