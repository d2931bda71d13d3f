"""Compiled CPU kernels (C++ with OpenMP, ``csrc/``), beside the torch path they replace.

``setup.py`` builds them as the extension ``fmm_attention._cpu`` when the package is installed
(``scripts/setup.sh``). Where they were not built, or cannot load, importing this module logs one
line saying so and ``available()`` is False: the torch path computes everything, only slower.

  band_attention(q, k, v, bandwidth, causal, key_padding_mask, scale, slopes)
      the near field (``near.band_attention``'s math, no dropout) on float32 / float64 CPU tensors:
      one pass of O(N w d) per (batch, head), the backward recomputing the weights from one saved
      number per row.
  causal_far_field(q, k, v, feature_maps, key_padding_mask, normalize, eps, decay, initial_state)
      the causal far field from a state (``far.mean_linear_attention``'s math) in its recurrent form,
      O(N d dv) per (batch, head) with an O(d dv) state and no chunk products; returns the state after.
"""
import logging
from typing import Optional, Sequence, Tuple

import torch

from .feature_maps import FEATURE_MAPS, FeatureMap

logger = logging.getLogger(__name__)
DTYPES = (torch.float32, torch.float64)
MAP_CODES = {"elu": 0, "elu_flip": 1, "tanh": 2, "relu": 3}  # the maps the kernels compute (csrc/far.cpp)

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


def map_codes(feature_maps: Sequence[FeatureMap]) -> Optional[Tuple[int, ...]]:
    """The kernels' codes of ``feature_maps``; None if one of them is not a named map they compute."""
    names = {function: name for name, function in FEATURE_MAPS.items()}
    codes = tuple(MAP_CODES.get(names.get(feature_map)) for feature_map in feature_maps)
    return None if None in codes else codes


class CausalFarFieldFunction(torch.autograd.Function):
    """The causal far field by the compiled kernels; saves q, k, v and the initial state only."""

    @staticmethod
    def forward(ctx, q, k, v, initial_state, key_padding_mask, decay, codes, normalize, eps):
        out, final_state = _cpu.far_forward(q, k, v, key_padding_mask, decay, initial_state, list(codes), normalize, eps)
        ctx.save_for_backward(q, k, v, initial_state)
        ctx.settings = (key_padding_mask, decay, codes, normalize, eps)
        return out, final_state

    @staticmethod
    @torch.autograd.function.once_differentiable
    def backward(ctx, grad_out, grad_final_state):
        q, k, v, initial_state = ctx.saved_tensors
        key_padding_mask, decay, codes, normalize, eps = ctx.settings
        grad_q, grad_k, grad_v, grad_initial = _cpu.far_backward(
            grad_out.contiguous(), grad_final_state.contiguous(), q, k, v, key_padding_mask, decay, initial_state,
            list(codes), normalize, eps)
        return grad_q, grad_k, grad_v, grad_initial, None, None, None, None, None


def causal_far_field(q, k, v, codes: Tuple[int, ...], key_padding_mask: Optional[torch.Tensor], normalize: bool,
                     eps: float, decay: Optional[torch.Tensor], initial_state: torch.Tensor):
    """The causal far field by the compiled kernels (``far.mean_linear_attention`` checks and calls it):
    q, k, v (batch, heads, length, d) (k, v already the keys each position adds); ``codes`` from
    ``map_codes``; decay (heads,) or None; initial_state [S | z] (batch, heads, maps, d, dv + 1).
    Returns the far field and the state after the last position."""
    padding = None if key_padding_mask is None else key_padding_mask.to(torch.bool).contiguous()
    decay = None if decay is None or bool((decay == 1).all()) else decay.to(q.dtype).contiguous()
    return CausalFarFieldFunction.apply(q.contiguous(), k.contiguous(), v.contiguous(),
                                        initial_state.to(q.dtype).contiguous(), padding, decay, codes, normalize, eps)


def band_attention(q, k, v, bandwidth: int, causal: bool, key_padding_mask: Optional[torch.Tensor], scale: float,
                   slopes: Optional[torch.Tensor]) -> torch.Tensor:
    """The band by the compiled kernels (``near.band_attention`` checks and calls it): q (batch, heads,
    length, d); k, v (batch, heads, P + length, d) with P <= w - 1 earlier keys (causal only);
    key_padding_mask (batch, P + length); slopes (heads,) or None."""
    padding = None if key_padding_mask is None else key_padding_mask.to(torch.bool).contiguous()
    slopes = None if slopes is None else slopes.to(q.dtype).contiguous()
    return BandAttentionFunction.apply(q.contiguous(), k.contiguous(), v.contiguous(), padding, slopes, bandwidth, causal,
                                       scale)
