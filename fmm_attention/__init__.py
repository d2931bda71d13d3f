"""FMM attention in pure torch (and Triton kernels), without fairseq.

The public face (shapes in each docstring):
  FMMConfig, BlendConfig, FMMOptionError   what a layer computes, each setting declared once (``config``)
  fmm_attention(q, k, v, config, ...)      near + far field by chunks, O(N), from and to a state (``fmm``)
  fmm_attention_step, empty_state, FMMState  the recurrent form (one token) and the state (``fmm``)
  FEATURE_MAPS                             the far field's named feature maps (``feature_maps``)
  FMMAttention                             the nn.Module: projections, blend weights, padding, decoding (``layer``)
The fields alone: ``near.band_attention`` / ``near.band_step``, ``far.mean_linear_attention`` /
``far.far_step``; how sequences are cut: ``chunking``; their dense O(N^2) references: ``naive``;
the GPU kernels: ``fmm_attention.triton``.
"""
from .config import BlendConfig, FMMConfig, FMMOptionError
from .feature_maps import FEATURE_MAPS
from .fmm import FMMState, empty_state, fmm_attention, fmm_attention_step
from .layer import FMMAttention

__all__ = [
    "BlendConfig",
    "FEATURE_MAPS",
    "FMMAttention",
    "FMMConfig",
    "FMMOptionError",
    "FMMState",
    "empty_state",
    "fmm_attention",
    "fmm_attention_step",
]
