"""FMM attention math in pure torch (no fairseq): near field, far field, blend, decode steps."""
from .band import band_attention, band_attention_step
from .feature_maps import FEATURE_MAPS, resolve_feature_maps
from .fmm import FMMConfig, FMMOptionError, empty_decode_state, far_sums_from, fmm_attention, fmm_attention_step
from .lowrank import (
    linear_attention, mean_linear_attention, mean_linear_attention_cached_step, mean_linear_attention_step,
)

__all__ = [
    "FEATURE_MAPS",
    "FMMConfig",
    "FMMOptionError",
    "band_attention",
    "band_attention_step",
    "empty_decode_state",
    "far_sums_from",
    "fmm_attention",
    "fmm_attention_step",
    "linear_attention",
    "mean_linear_attention",
    "mean_linear_attention_cached_step",
    "mean_linear_attention_step",
    "resolve_feature_maps",
]
