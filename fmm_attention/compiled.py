"""Compiled CPU kernels (C++ with OpenMP, ``csrc/``), beside the torch path they replace.

``setup.py`` builds them as the extension ``fmm_attention._cpu`` when the package is installed
(``scripts/setup.sh``). Where they were not built, or cannot load, importing this module logs one
line saying so and ``available()`` is False: the torch path computes everything, only slower.

  band_attention(q, k, v, bandwidth, causal, key_padding_mask, scale, slopes)
      the near field (``near.band_attention``'s math, no dropout) on float32 / float64 CPU tensors:
      one pass of O(N w d) per (batch, head), the backward recomputing the weights from one saved
      number per row.
"""
import logging
from typing import Optional

import torch

logger = logging.getLogger(__name__)
DTYPES = (torch.float32, torch.float64)

try:
    from . import _cpu
except ImportError as error:  # not built (no compiler, or installed without building extensions)
    _cpu = None
    _REASON = f"the compiled CPU kernels are not built ({error}); the torch path computes the band instead " \
              "(slower). Build them with: pip install --no-build-isolation -e ."
    logger.warning("fmm_attention: %s", _REASON)
else:
    _REASON = None


def unavailable_reason() -> Optional[str]:
    """None when the compiled kernels are loaded, else why not."""
    return _REASON


def runs(q: torch.Tensor) -> bool:
    """Whether the compiled kernels take these inputs (loaded, CPU, float32 or float64)."""
    return _cpu is not None and q.device.type == "cpu" and q.dtype in DTYPES


class BandAttentionFunction(torch.autograd.Function):
    """Banded softmax attention by the compiled kernels; saves q, k, v and one log-sum-exp per row."""

    @staticmethod
    def forward(ctx, q, k, v, key_padding_mask, slopes, bandwidth, causal, scale):
        out, lse = _cpu.band_forward(q, k, v, key_padding_mask, slopes, bandwidth, causal, scale)
        ctx.save_for_backward(q, k, v, lse)
        ctx.settings = (key_padding_mask, slopes, bandwidth, causal, scale)
        return out

    @staticmethod
    @torch.autograd.function.once_differentiable
    def backward(ctx, grad_out):
        q, k, v, lse = ctx.saved_tensors
        key_padding_mask, slopes, bandwidth, causal, scale = ctx.settings
        grad_q, grad_k, grad_v = _cpu.band_backward(grad_out.contiguous(), q, k, v, lse, key_padding_mask, slopes,
                                                    bandwidth, causal, scale)
        return grad_q, grad_k, grad_v, None, None, None, None, None


def band_attention(q, k, v, bandwidth: int, causal: bool, key_padding_mask: Optional[torch.Tensor], scale: float,
                   slopes: Optional[torch.Tensor]) -> torch.Tensor:
    """The band by the compiled kernels (``near.band_attention`` checks and calls it): q (batch, heads,
    length, d); k, v (batch, heads, P + length, d) with P <= w - 1 earlier keys (causal only);
    key_padding_mask (batch, P + length); slopes (heads,) or None."""
    padding = None if key_padding_mask is None else key_padding_mask.to(torch.bool).contiguous()
    slopes = None if slopes is None else slopes.to(q.dtype).contiguous()
    return BandAttentionFunction.apply(q.contiguous(), k.contiguous(), v.contiguous(), padding, slopes, bandwidth, causal,
                                       scale)
