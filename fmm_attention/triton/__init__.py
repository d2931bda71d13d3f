"""Triton GPU kernels of FMM attention, with the signatures of the pure-torch path.

    from fmm_attention import triton as kernels
    kernels.band_attention(...), kernels.linear_attention(...), kernels.fmm_attention(...)

Importing this package does not import Triton: the three functions load ``ops`` (and Triton) on
first use, so that ``runtime`` can choose between compiled kernels (CUDA) and Triton's CPU
interpreter before Triton is imported. ``triton_unavailable_reason`` says, without importing
Triton, why the kernels could not run here.
"""
import functools
import importlib.util
import os
from typing import Optional

import torch

_KERNEL_FUNCTIONS = ("band_attention", "linear_attention", "fmm_attention")
KERNEL_FEATURE_MAPS = ("elu", "elu_flip", "tanh", "relu")  # the maps the kernels compute themselves


@functools.lru_cache(maxsize=None)
def triton_installed() -> bool:
    """Whether Triton can be imported (checked once, without importing it)."""
    return importlib.util.find_spec("triton") is not None


def triton_unavailable_reason() -> Optional[str]:
    """None when the kernels can run here: Triton installed and a CUDA device (or TRITON_INTERPRET=1)."""
    if not triton_installed():
        return "Triton is not installed (pip install triton, or pip install -e .[triton])"
    if not torch.cuda.is_available() and os.environ.get("TRITON_INTERPRET") != "1":
        return (
            "no CUDA device (torch.cuda.is_available() is False); "
            "TRITON_INTERPRET=1 runs the kernels in Triton's CPU interpreter, for tests only"
        )
    return None


def __getattr__(name):
    if name in _KERNEL_FUNCTIONS:
        from . import ops

        return getattr(ops, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


__all__ = ["KERNEL_FEATURE_MAPS", "triton_installed", "triton_unavailable_reason", *_KERNEL_FUNCTIONS]
