"""FMM attention in pure torch (and Triton kernels), without fairseq.

The public face (shapes in each docstring):
  FMMConfig, BlendConfig, FMMOptionError   what a layer computes (``config``)
  fmm_attention(q, k, v, config, ...)      full-sequence near + far field, O(N) (``fmm``)
  fmm_attention_step, empty_decode_state   one decoding step and its bounded state (``decode``)
  FEATURE_MAPS                             the far field's named feature maps (``feature_maps``)
  FMMAttention                             the nn.Module: projections, blend weights, padding, decoding (``layer``)
The fields alone: ``near.band_attention``, ``far.linear_attention`` / ``far.mean_linear_attention``;
their dense O(N^2) references: ``naive``; the GPU kernels: ``fmm_attention.triton``.
"""
from .config import BlendConfig, FMMConfig, FMMOptionError
from .decode import DecodeState, empty_decode_state, fmm_attention_step
from .feature_maps import FEATURE_MAPS
from .fmm import fmm_attention
from .layer import FMMAttention

__all__ = [
    "BlendConfig",
    "DecodeState",
    "FEATURE_MAPS",
    "FMMAttention",
    "FMMConfig",
    "FMMOptionError",
    "empty_decode_state",
    "fmm_attention",
    "fmm_attention_step",
]
